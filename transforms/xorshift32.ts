/** xorshift32: small, fast and the same on every machine, so seeded looks repeat exactly. Advances `state[0]`. */
export function xorshift32(state: Uint32Array): number {
  let x = state[0]!;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  state[0] = x;
  return x >>> 0;
}
