/**
 * core/seededRandom.ts is Effect 3's seeded `Random` draw for draw: the fake's random faults give the same sequence
 * for a seed on the 0.x line (Effect 3) and the 1.x line (Effect 4, which draws from core's generator).
 */
import { Effect, Random } from "effect"
import { describe, expect, it } from "vitest"
import { seededRandom } from "../../core/seededRandom.js"

describe("core's seeded generator", () => {
  for (const seed of [42, 0, 1, 7, 123456789, 2 ** 32 + 5, -3, 0.5, 9007199254740991]) {
    it(`draws what Effect 3's Random.make(${seed}).next draws, 2,000 times`, () => {
      const effect3 = Random.make(seed)
      const core = seededRandom(seed)
      const expected = Array.from({ length: 2000 }, () => Effect.runSync(effect3.next))
      expect(Array.from({ length: 2000 }, core)).toEqual(expected)
    })
  }

  it("draws in [0, 1), spread over it", () => {
    const draws = Array.from({ length: 10_000 }, seededRandom(99))
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true)
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02)
  })
})
