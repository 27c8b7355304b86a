import { describe, expect, it } from "vitest"
import { retryAfterMillis } from "../retryAfter.js"

const now = Date.parse("2026-12-06T12:00:00Z")

describe("retryAfterMillis", () => {
  it("reads seconds, whole or decimal", () => {
    expect(retryAfterMillis("2", now)).toBe(2000)
    expect(retryAfterMillis(" 1.5 ", now)).toBe(1500)
    expect(retryAfterMillis("0", now)).toBe(0)
  })

  it("reads the three HTTP-date forms against now; a date in the past is no wait", () => {
    expect(retryAfterMillis("Sun, 06 Dec 2026 12:00:03 GMT", now)).toBe(3000)
    expect(retryAfterMillis("Sunday, 06-Dec-26 12:00:04 GMT", now)).toBe(4000)
    expect(retryAfterMillis("Sun Dec  6 12:00:05 2026", now)).toBe(5000)
    expect(retryAfterMillis("Sun, 06 Dec 2026 11:59:00 GMT", now)).toBe(0)
  })

  it("ignores what is neither: absent, negative, garbage, a number too large to hold", () => {
    expect(retryAfterMillis(undefined, now)).toBeUndefined()
    expect(retryAfterMillis("-1", now)).toBeUndefined()
    expect(retryAfterMillis("soon", now)).toBeUndefined()
    expect(retryAfterMillis("2026-12-06T12:00:03Z", now)).toBeUndefined()
    expect(retryAfterMillis("9".repeat(400), now)).toBeUndefined()
  })
})
