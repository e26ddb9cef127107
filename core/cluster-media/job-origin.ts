/** The field of a job's params naming the node it was enqueued on (LIVEFX_NODE_URL): where its media is read and its outputs go. */
export const ORIGIN_FIELD = 'media_origin';

/** The params with the enqueuing node's URL added (unchanged without one: a single node, or a shared data directory). */
export function withOrigin<T extends object>(params: T, origin: string | undefined): T {
  return origin === undefined ? params : { ...params, [ORIGIN_FIELD]: origin };
}

/** A job's own params and the node it came from, if it names one. */
export function splitOrigin(params: unknown): { params: unknown; origin: string | undefined } {
  if (typeof params !== 'object' || params === null || !(ORIGIN_FIELD in params)) return { params, origin: undefined };
  const { [ORIGIN_FIELD]: origin, ...rest } = params as Record<string, unknown>;
  return { params: rest, origin: typeof origin === 'string' ? origin : undefined };
}
