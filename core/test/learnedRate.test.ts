import { describe, expect, it } from "vitest"
import { binomialTail, LEARN_FACTOR, LearnedRate } from "../learnedRate.js"

const limited = (retryAfterMillis = 1000) => ({ _tag: "RateLimited", retryAfterMillis }) as const
const answered = { _tag: "Answered" } as const

describe("LearnedRate", () => {
  it("paces nothing while no limit is known", () => {
    const rate = new LearnedRate()
    for (let t = 0; t < 1000; t += 10) {
      expect(rate.nextSendAt(t)).toBe(t)
      rate.take(t)
      rate.record(t, answered)
    }
    expect(rate.rate).toBeUndefined()
  })

  it("once a quiet block measured the noise at 0, 3 429s in a row confirm a limit: a pause for Retry-After, the rate 0.97 x the last second's answers", () => {
    const rate = new LearnedRate()
    // 100 answers over a second: a steady block without 429s measures the noise floor at 0.
    for (let i = 0; i < 100; i++) rate.record(1000 + i * 10, answered)
    expect(rate.noise).toBe(0)
    rate.record(2000, limited(2000))
    rate.record(2001, limited(2000))
    expect(rate.confirmations).toBe(0)
    rate.record(2002, limited(2000))
    expect(rate.confirmations).toBe(1)
    expect(rate.pausedUntil).toBe(4002)
    expect(rate.nextSendAt(2005)).toBeGreaterThanOrEqual(4002)
    // The last second's buckets (100 ms each) hold the answers from 1100 ms on: 90 of them.
    expect(rate.rate).toBeCloseTo(90 * LEARN_FACTOR, 5)
  })

  it("while the noise is unmeasured, it takes 5 429s in a row", () => {
    const rate = new LearnedRate()
    for (let i = 0; i < 20; i++) rate.record(1000 + i * 10, answered)
    expect(rate.noise).toBeUndefined()
    for (let i = 0; i < 4; i++) rate.record(1300 + i, limited())
    expect(rate.confirmations).toBe(0)
    rate.record(1304, limited())
    expect(rate.confirmations).toBe(1)
  })

  it("a lone 429 sets a provisional rate that goes back after ten answers", () => {
    const rate = new LearnedRate()
    for (let i = 0; i < 50; i++) rate.record(1000 + i * 10, answered)
    rate.record(1500, limited())
    expect(rate.rate).toBeDefined()
    for (let i = 0; i < 10; i++) rate.record(1501 + i, answered)
    expect(rate.rate).toBeUndefined()
    expect(rate.confirmations).toBe(0)
  })
})

describe("binomialTail", () => {
  it("is P(X >= k) for X ~ Binomial(n, p)", () => {
    expect(binomialTail(0, 10, 0.3)).toBe(1)
    expect(binomialTail(11, 10, 0.3)).toBe(0)
    expect(binomialTail(1, 2, 0.5)).toBeCloseTo(0.75, 12)
    expect(binomialTail(2, 2, 0.5)).toBeCloseTo(0.25, 12)
    // 10 of 40 at a 5% floor: far out in the tail.
    expect(binomialTail(10, 40, 0.05)).toBeLessThan(1e-4)
  })
})
