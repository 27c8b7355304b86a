/**
 * Property tests (fast-check, through effect's FastCheck): whatever a user passes and whatever a server answers, the
 * outcome is a value or a typed error, never a defect, and never a wait past the policy's cap.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, DateTime, Effect, FastCheck as fc, Fiber, Layer, Option, Redacted, TestClock } from "effect"
import { AuthService, RequestToken, TmdbConfig } from "../src/index.js"
import * as Scripted from "./support/ScriptedClient.js"
import { ok } from "./support/ScriptedClient.js"

const requestErrors = new Set([
  "RateLimited",
  "InvalidApiKey",
  "TmdbUnavailable",
  "TmdbError",
  "TransportError",
  "MalformedResponse"
])

const services = (responses: ReadonlyArray<Scripted.Canned>) =>
  AuthService.layer.pipe(
    Layer.provideMerge(Layer.merge(
      TmdbConfig.layer({ accessToken: "token", retry: { maxRetries: 2, maxRetryAfter: "5 seconds" } }),
      Scripted.layer(responses)
    ))
  )

/** Anything a user may type, including the empty string, whitespace, control characters, quotes and 10 KB. */
const anyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 64 }),
  fc.constantFrom("", " ", "\t\n", "\u0000\u0007", "\"'\\", "😀 émoji 中文", "x".repeat(10_000))
)

describe("properties", () => {
  it.effect.prop(
    "any username, password and request token: sent as a JSON body that round-trips exactly",
    [anyText, anyText, anyText],
    ([username, password, token]) =>
      Effect.gen(function*() {
        const auth = yield* AuthService
        const requestToken = new RequestToken({
          token: Redacted.make(token),
          expiresAt: DateTime.unsafeMake(Date.parse("2100-01-01T00:00:00Z"))
        })
        const exit = yield* Effect.exit(auth.validateWithLogin({ username, password, requestToken }))
        const requests = yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))
        // Either a typed error before any request, or a request whose body is exactly what was given.
        if (requests.length === 0) {
          expect(exit._tag).toBe("Failure")
          expect(Cause.isFailType(exit._tag === "Failure" ? exit.cause : Cause.empty)).toBe(true)
        } else {
          expect(requests[0]!.body).toEqual({ username, password, request_token: token })
        }
      }).pipe(Effect.provide(services([ok({ expires_at: "2100-01-01 00:00:00 UTC", request_token: "t" })]))),
    { fastCheck: { numRuns: 60 }, timeout: 60_000 }
  )

  const status = fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 205 && s !== 304)
  const body = fc.oneof(
    fc.constant(undefined),
    fc.string({ maxLength: 40 }),
    fc.json({ maxDepth: 2 }),
    fc.record({
      success: fc.oneof(fc.boolean(), fc.constant("yes")),
      status_code: fc.oneof(fc.integer({ min: -5, max: 60 }), fc.string({ maxLength: 5 })),
      status_message: fc.string({ maxLength: 30 })
    }, { requiredKeys: [] }),
    fc.constant("x".repeat(200_000))
  )
  // Header values as a server may send them (printable ASCII): numbers of any sign and size, dates, garbage.
  const retryAfter = fc.oneof(
    fc.constant(undefined),
    fc.integer({ min: -100, max: 100_000 }).map(String),
    fc.double({ min: -10, max: 1e9, noNaN: true }).map(String),
    fc.date({ min: new Date(0), max: new Date(4102444800000) }).map((d) => d.toUTCString()),
    fc.string({ unit: "binary-ascii", maxLength: 20 }).map((s) => s.replace(/[^\x20-\x7e]/g, ""))
  )

  it.effect.prop(
    "any status, body and Retry-After: a value or a typed error, never a defect, never a wait past the cap",
    [status, body, retryAfter],
    ([status, body, retryAfter]) => {
      const canned: Scripted.Canned = {
        status,
        ...(body === undefined ? {} : { body: typeof body === "string" ? body : body as object }),
        ...(retryAfter === undefined ? {} : { headers: { "retry-after": retryAfter } })
      }
      return Effect.gen(function*() {
        const auth = yield* AuthService
        const fiber = yield* Effect.fork(auth.createRequestToken)
        // Three attempts, two waits of at most 5 s each (the cap) and as long a pause: done well within a minute.
        yield* TestClock.adjust("1 minute")
        const exit = yield* Fiber.poll(fiber)
        expect(Option.isSome(exit)).toBe(true)
        if (Option.isSome(exit) && exit.value._tag === "Failure") {
          const failure = Cause.failureOption(exit.value.cause)
          expect(Option.isSome(failure), Cause.pretty(exit.value.cause)).toBe(true)
          if (Option.isSome(failure)) expect(requestErrors.has(failure.value._tag), failure.value._tag).toBe(true)
        }
      }).pipe(Effect.provide(services([canned, canned, canned])))
    },
    { fastCheck: { numRuns: 150 }, timeout: 60_000 }
  )
})
