import { describe, expect, it } from "@effect/vitest"
import { DateTime, Duration } from "effect"
import {
  InvalidApiKey,
  InvalidCredentials,
  isAuthError,
  RateLimited,
  TmdbError,
  TokenExpired,
  TransportError
} from "../src/index.js"

describe("error messages", () => {
  it("tell a person what happened and what TMDB said", () => {
    const error = new InvalidCredentials({
      reason: "WrongLogin",
      endpoint: "POST /3/authentication/token/validate_with_login",
      httpStatus: 401,
      statusCode: 30,
      statusMessage: "Invalid username and/or password: You did not provide a valid login."
    })
    expect(error.message).toBe(
      "TMDB refused the login: the username or password is wrong (code 30, HTTP 401 from " +
        "POST /3/authentication/token/validate_with_login): Invalid username and/or password: You did not provide a valid login."
    )
    expect(error._tag).toBe("InvalidCredentials")
    expect(error).toBeInstanceOf(Error)
  })

  it("RateLimited names the wait the server asked for", () => {
    const error = new RateLimited({
      endpoint: "GET /3/authentication",
      httpStatus: 429,
      retryAfter: Duration.seconds(2)
    })
    expect(error.message).toContain("it asked to wait 2s")
  })

  it("a suspended key reads differently from an invalid one", () => {
    const base = { endpoint: "GET /3/authentication", httpStatus: 401 }
    expect(new InvalidApiKey({ ...base, statusCode: 10 }).message).toContain("is suspended")
    expect(new InvalidApiKey({ ...base, statusCode: 7 }).message).toContain("is invalid")
  })

  it("a locally expired token says no request was sent", () => {
    const error = new TokenExpired({
      endpoint: "POST /3/authentication/session/new",
      expiresAt: DateTime.makeUnsafe("2026-01-01T00:00:00Z")
    })
    expect(error.message).toContain("no request was sent")
    expect(error.message).toContain("2026-01-01T00:00:00.000Z")
  })

  it("isAuthError recognises the library's errors only", () => {
    expect(isAuthError(new TmdbError({ endpoint: "GET /x", httpStatus: 400 }))).toBe(true)
    expect(isAuthError(new TransportError({ reason: "Timeout", endpoint: "GET /x" }))).toBe(true)
    expect(isAuthError(new Error("other"))).toBe(false)
    expect(isAuthError({ _tag: "TmdbError" })).toBe(false)
  })
})
