import { describe, expect, it } from "vitest"
import { classify, retryableWhenRepeatable, statusCodeRules } from "../errorTable.js"

const answer = (httpStatus: number, statusCode?: number, withSession = false) => ({
  httpStatus,
  statusCode,
  withSession
})

describe("classify", () => {
  it("a 429 is RateLimited whatever the body says", () => {
    expect(classify(answer(429), [])).toEqual({ tag: "RateLimited" })
    expect(classify(answer(429, 7), [])).toEqual({ tag: "RateLimited" })
  })

  it("general codes apply on every endpoint; endpoint codes only where the endpoint names them", () => {
    expect(classify(answer(401, 7), [])).toEqual({ tag: "InvalidApiKey" })
    expect(classify(answer(503, 9), [])).toEqual({ tag: "TmdbUnavailable" })
    expect(classify(answer(401, 30), ["InvalidCredentials"])).toEqual({
      tag: "InvalidCredentials",
      reason: "WrongLogin"
    })
    expect(classify(answer(401, 30), [])).toEqual({ tag: "TmdbError" })
    expect(classify(answer(401, 33), ["TokenExpired"])).toEqual({ tag: "TokenExpired" })
  })

  it("code 3 with a session is SessionNotFound on any endpoint; 34 only where named (a 404 movie is not a session)", () => {
    expect(classify(answer(401, 3, true), [])).toEqual({ tag: "SessionNotFound" })
    expect(classify(answer(401, 3, false), [])).toEqual({ tag: "InvalidApiKey" })
    expect(classify(answer(404, 34, true), [])).toEqual({ tag: "TmdbError" })
    expect(classify(answer(404, 34, true), ["SessionNotFound"])).toEqual({ tag: "SessionNotFound" })
  })

  it("no rule: TmdbUnavailable for a 5xx, TmdbError otherwise", () => {
    expect(classify(answer(502), [])).toEqual({ tag: "TmdbUnavailable" })
    expect(classify(answer(500, 999), [])).toEqual({ tag: "TmdbUnavailable" })
    expect(classify(answer(400, 999), [])).toEqual({ tag: "TmdbError" })
  })

  it("every code of the table maps to one tag", () => {
    for (const [code, rule] of statusCodeRules) {
      expect(typeof code).toBe("number")
      expect(rule.tag.length).toBeGreaterThan(0)
    }
    expect(statusCodeRules.size).toBe(21)
  })
})

describe("retryableWhenRepeatable", () => {
  it("a 429 and maintenance (503 with 9 or 46) on any request; other 5xx only where repeatable", () => {
    expect(retryableWhenRepeatable(false, { _tag: "RateLimited" })).toBe(true)
    expect(retryableWhenRepeatable(false, { _tag: "TmdbUnavailable", httpStatus: 503, statusCode: 9 })).toBe(true)
    expect(retryableWhenRepeatable(false, { _tag: "TmdbUnavailable", httpStatus: 503, statusCode: 46 })).toBe(true)
    expect(retryableWhenRepeatable(false, { _tag: "TmdbUnavailable", httpStatus: 500 })).toBe(false)
    expect(retryableWhenRepeatable(true, { _tag: "TmdbUnavailable", httpStatus: 500 })).toBe(true)
  })

  it("transport failures and garbled successes only where repeatable; a bad URL or body never", () => {
    expect(retryableWhenRepeatable(true, { _tag: "TransportError", reason: "Timeout" })).toBe(true)
    expect(retryableWhenRepeatable(false, { _tag: "TransportError", reason: "Timeout" })).toBe(false)
    expect(retryableWhenRepeatable(true, { _tag: "TransportError", reason: "InvalidUrl" })).toBe(false)
    expect(retryableWhenRepeatable(true, { _tag: "MalformedResponse", httpStatus: 200 })).toBe(true)
    expect(retryableWhenRepeatable(true, { _tag: "MalformedResponse", httpStatus: 404 })).toBe(false)
    expect(retryableWhenRepeatable(true, { _tag: "InvalidCredentials" })).toBe(false)
  })
})
