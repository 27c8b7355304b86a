/**
 * A seeded generator of uniform draws in [0, 1): the fake TMDB's random faults draw from it in both lines, so that a
 * seed gives the same fault sequence on 0.x (Effect 3) and 1.x (Effect 4, whose own `Random` is another generator).
 * It is Effect 3's `Random.make(seed)` draw for draw (`next`): the seed hashed as Effect 3's `Hash.number` does, then
 * PCG-XSH-RR 64/32 (O'Neill) in 32-bit halves, two outputs to a 53-bit double, as Effect 3's `Utils.PCGRandom`.
 * test/internal/seededRandom.test.ts at the root checks it against Effect 3's `Random` itself.
 */

const INC_HI = 0x14057b7e
const INC_LO = 0xf767814f
const MUL_HI = 0x5851f42d >>> 0
const MUL_LO = 0x4c957f2d >>> 0
const BIT_53 = 9007199254740992.0
const BIT_27 = 134217728.0

/** Effect 3's `Hash.number`: the seed's 32-bit hash. */
const hashNumber = (n: number): number => {
  if (n !== n || n === Infinity) return 0
  let h = n | 0
  if (h !== n) h ^= n * 0xffffffff
  while (n > 0xffffffff) h ^= n /= 0xffffffff
  return (h & 0xbfffffff) | ((h >>> 1) & 0x40000000)
}

/** `out` = a * b, 64-bit halves. */
const mul64 = (out: Int32Array, aHi: number, aLo: number, bHi: number, bLo: number): void => {
  let c1 = ((aLo >>> 16) * (bLo & 0xffff)) >>> 0
  let c0 = ((aLo & 0xffff) * (bLo >>> 16)) >>> 0
  let lo = ((aLo & 0xffff) * (bLo & 0xffff)) >>> 0
  let hi = ((aLo >>> 16) * (bLo >>> 16) + ((c0 >>> 16) + (c1 >>> 16))) >>> 0
  c0 = (c0 << 16) >>> 0
  lo = (lo + c0) >>> 0
  if (lo >>> 0 < c0 >>> 0) hi = (hi + 1) >>> 0
  c1 = (c1 << 16) >>> 0
  lo = (lo + c1) >>> 0
  if (lo >>> 0 < c1 >>> 0) hi = (hi + 1) >>> 0
  hi = (hi + Math.imul(aLo, bHi)) >>> 0
  hi = (hi + Math.imul(aHi, bLo)) >>> 0
  out[0] = hi
  out[1] = lo
}

/** `out` = a + b, 64-bit halves. */
const add64 = (out: Int32Array, aHi: number, aLo: number, bHi: number, bLo: number): void => {
  let hi = (aHi + bHi) >>> 0
  const lo = (aLo + bLo) >>> 0
  if (lo >>> 0 < aLo >>> 0) hi = (hi + 1) | 0
  out[0] = hi
  out[1] = lo
}

/** The generator for `seed`: each call, the next draw in [0, 1). */
export const seededRandom = (seed: number): () => number => {
  const state = new Int32Array([0, 0, INC_HI >>> 0, (INC_LO | 1) >>> 0])
  const next = (): number => {
    const oldHi = state[0]! >>> 0
    const oldLo = state[1]! >>> 0
    mul64(state, oldHi, oldLo, MUL_HI, MUL_LO)
    add64(state, state[0]!, state[1]!, state[2]!, state[3]!)
    let xsHi = oldHi >>> 18
    let xsLo = ((oldLo >>> 18) | (oldHi << 14)) >>> 0
    xsHi = (xsHi ^ oldHi) >>> 0
    xsLo = (xsLo ^ oldLo) >>> 0
    const xorshifted = ((xsLo >>> 27) | (xsHi << 5)) >>> 0
    const rot = oldHi >>> 27
    const rot2 = ((-rot >>> 0) & 31) >>> 0
    return ((xorshifted >>> rot) | (xorshifted << rot2)) >>> 0
  }
  next()
  add64(state, state[0]!, state[1]!, 0, hashNumber(seed) >>> 0)
  next()
  return () => {
    const hi = (next() & 0x03ffffff) * 1.0
    const lo = (next() & 0x07ffffff) * 1.0
    return (hi * BIT_27 + lo) / BIT_53
  }
}
