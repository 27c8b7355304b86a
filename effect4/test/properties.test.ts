/**
 * Property tests (effect's Arbitrary): whatever a user passes and whatever a server answers, the
 * outcome is a value or a typed error, never a defect, and never a wait past the policy's cap.
 */
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Cause, DateTime, Effect, Layer, Option, Redacted, Schema } from "effect"
import { TestClock } from "effect/testing"
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

// What fast-check's `integer`, `oneof`, `constantFrom` and `string({ unit })` gave the Effect 3 tests.
const integer = (minimum: number, maximum: number) =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))
const oneOf = <A>(...arbitraries: ReadonlyArray<Arbitrary.Arbitrary<A>>): Arbitrary.Arbitrary<A> =>
  integer(0, arbitraries.length - 1).pipe(Arbitrary.flatMap((i) => arbitraries[i]!))
const constantFrom = <A>(...values: ReadonlyArray<A>) => oneOf(...values.map((value) => Arbitrary.Constant(value)))
/** Strings of any code points up to `maxCodePoint` (lone surrogates left out), at most `maxLength` of them. */
const codePoints = (maxCodePoint: number, maxLength: number) =>
  Arbitrary.array(
    integer(0, maxCodePoint).pipe(Arbitrary.filter((c) => c < 0xd800 || c > 0xdfff)),
    { maxLength }
  ).pipe(Arbitrary.map((points) => String.fromCodePoint(...points)))

/** Anything a user may type, including the empty string, whitespace, control characters, quotes and 10 KB. */
const anyText = oneOf(
  codePoints(0x10ffff, 64),
  constantFrom("", " ", "\t\n", "\u0000\u0007", "\"'\\", "😀 émoji 中文", "x".repeat(10_000))
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
          expiresAt: DateTime.makeUnsafe(Date.parse("2100-01-01T00:00:00Z"))
        })
        const exit = yield* Effect.exit(auth.validateWithLogin({ username, password, requestToken }))
        const requests = yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))
        // Either a typed error before any request, or a request whose body is exactly what was given.
        if (requests.length === 0) {
          expect(exit._tag).toBe("Failure")
          const reasons = exit._tag === "Failure" ? exit.cause.reasons : Cause.empty.reasons
          expect(reasons.length === 1 && Cause.isFailReason(reasons[0]!)).toBe(true)
        } else {
          expect(requests[0]!.body).toEqual({ username, password, request_token: token })
        }
      }).pipe(Effect.provide(services([ok({ expires_at: "2100-01-01 00:00:00 UTC", request_token: "t" })]))),
    { arbitrary: { runs: 60 }, timeout: 60_000 }
  )

  const status = integer(200, 599).pipe(Arbitrary.filter((s) => s !== 204 && s !== 205 && s !== 304))
  const text = (maxLength: number) => Arbitrary.schema(Schema.String.check(Schema.isMaxLength(maxLength)))
  /** A JSON document (as text) nested two levels deep at most. */
  const jsonLeaf = oneOf<unknown>(
    Arbitrary.Constant(null),
    Arbitrary.schema(Schema.Boolean),
    Arbitrary.schema(Schema.Finite),
    text(10)
  )
  const jsonLevel = (inner: Arbitrary.Arbitrary<unknown>) =>
    oneOf<unknown>(
      inner,
      Arbitrary.array(inner, { maxLength: 4 }),
      Arbitrary.array(Arbitrary.all([text(6), inner]), { maxLength: 4 }).pipe(Arbitrary.map(Object.fromEntries))
    )
  const json = jsonLevel(jsonLevel(jsonLeaf)).pipe(Arbitrary.map((value) => JSON.stringify(value)))
  /** A field that may be absent. */
  const optional = <A>(arbitrary: Arbitrary.Arbitrary<A>) =>
    oneOf<A | undefined>(Arbitrary.Constant(undefined), arbitrary)
  const errorBody = Arbitrary.all({
    success: optional(oneOf<boolean | string>(Arbitrary.schema(Schema.Boolean), Arbitrary.Constant("yes"))),
    status_code: optional(oneOf<number | string>(integer(-5, 60), text(5))),
    status_message: optional(text(30))
  }).pipe(Arbitrary.map((fields) => Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined))))
  const body = oneOf<string | object | undefined>(
    Arbitrary.Constant(undefined),
    text(40),
    json,
    errorBody,
    Arbitrary.Constant("x".repeat(200_000))
  )
  // Header values as a server may send them (printable ASCII): numbers of any sign and size, dates, garbage.
  const retryAfter = oneOf<string | undefined>(
    Arbitrary.Constant(undefined),
    integer(-100, 100_000).pipe(Arbitrary.map(String)),
    Arbitrary.schema(Schema.Finite.check(Schema.isBetween({ minimum: -10, maximum: 1e9 }))).pipe(Arbitrary.map(String)),
    integer(0, 4102444800000).pipe(Arbitrary.map((millis) => new Date(millis).toUTCString())),
    codePoints(0x7f, 20).pipe(Arbitrary.map((s) => s.replace(/[^\x20-\x7e]/g, "")))
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
        const fiber = yield* Effect.forkChild(auth.createRequestToken)
        // Three attempts, two waits of at most 5 s each (the cap) and as long a pause: done well within a minute.
        yield* TestClock.adjust("1 minute")
        const exit = Option.fromUndefinedOr(fiber.pollUnsafe())
        expect(Option.isSome(exit)).toBe(true)
        if (Option.isSome(exit) && exit.value._tag === "Failure") {
          const failure = Cause.findErrorOption(exit.value.cause)
          expect(Option.isSome(failure), Cause.pretty(exit.value.cause)).toBe(true)
          if (Option.isSome(failure)) expect(requestErrors.has(failure.value._tag), failure.value._tag).toBe(true)
        }
      }).pipe(Effect.provide(services([canned, canned, canned])))
    },
    { arbitrary: { runs: 150 }, timeout: 60_000 }
  )
})
