import { WhepClient } from '../test/helpers/whep-client.js';
import { waitFor } from '../test/helpers/livefx-process.js';

/**
 * Milliseconds from a WHEP request at `url` to the viewer's first decoded frame (the viewer is then
 * stopped), followed by a random pause so the next join lands at another phase of the keyframe interval.
 */
export async function timeWhepJoin(url: string): Promise<number> {
  const viewer = new WhepClient(url);
  const started = performance.now();
  await viewer.start();
  await waitFor('first frame', () => (viewer.frames.length > 0 ? true : undefined), 10_000, 5);
  const elapsed = performance.now() - started;
  await viewer.stop();
  await new Promise((resolve) => setTimeout(resolve, 137 + Math.random() * 400));
  return elapsed;
}
