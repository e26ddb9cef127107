import { z } from 'zod';
import { LivefxError } from '../../core/errors.js';
import { parseChainSpec, withDisclosure, type ChainSpec } from '../../transforms/chain-spec.js';
import type { PresetStore } from '../storage/preset-store.js';
import type { LiveStream } from './live-stream.js';

/** Why a chain change was refused: a stable code, the HTTP status it maps to, and a message naming the problem. */
export class ChainControlError extends LivefxError {
  override name = 'ChainControlError';
  declare readonly code: 'invalid_chain' | 'invalid_request' | 'lut_not_found' | 'image_not_found' | 'chain_rejected' | 'stream_ended' | 'transform_not_found' | 'preset_not_found';
  constructor(code: ChainControlError['code'], httpStatus: number, message: string) {
    super(code, message, { httpStatus });
  }
}

export const transformPatchSchema = z
  .object({ enabled: z.boolean().optional(), params: z.record(z.string(), z.unknown()).optional() })
  .strict()
  .refine((body) => body.enabled !== undefined || body.params !== undefined, { message: 'give "enabled", "params" or both' });

/** Validates and applies a whole chain spec (HTTP PUT and the operator socket share this). */
export async function changeChain(stream: LiveStream, input: unknown, changedBy: string): Promise<ChainSpec> {
  if (stream.state === 'ended') throw new ChainControlError('stream_ended', 409, 'this stream has ended');
  const parsed = parseChainSpec(input);
  if (!parsed.ok) throw new ChainControlError('invalid_chain', 400, parsed.error);
  const disclosed = withDisclosure(parsed.spec);
  // A missing LUT or image (lut_not_found, image_not_found) and a chain the worker rejects (chain_rejected) are LivefxErrors already.
  await stream.setChain(disclosed.spec, changedBy);
  if (disclosed.labelOff) stream.logDisclosureOff(changedBy);
  return stream.chain;
}

/** Changes one transform of the chain: `enabled` and/or some `params` (merged into the current ones). */
export async function patchTransform(stream: LiveStream, index: number, patch: unknown, changedBy: string): Promise<ChainSpec> {
  const current = stream.chain.transforms;
  if (!Number.isInteger(index) || index < 0 || index >= current.length) {
    throw new ChainControlError('transform_not_found', 404, `no transform at index ${index} (the chain has ${current.length})`);
  }
  const parsed = transformPatchSchema.safeParse(patch ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ChainControlError('invalid_request', 400, `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  const body = parsed.data;
  const transforms = current.map((entry, position) =>
    position === index ? { ...entry, enabled: body.enabled ?? entry.enabled, params: { ...entry.params, ...(body.params ?? {}) } } : entry,
  );
  return changeChain(stream, { transforms }, changedBy);
}

/** Applies a stored preset exactly like a whole-chain change; `changedBy` is suffixed with the preset's name. */
export async function applyPreset(stream: LiveStream, presets: PresetStore, name: string, changedBy: string): Promise<ChainSpec> {
  const preset = await presets.get(name);
  if (!preset) throw new ChainControlError('preset_not_found', 404, `no preset named "${name}"`);
  return changeChain(stream, preset.spec, `${changedBy} (preset "${preset.name}")`);
}
