/**
 * The control API of `FakeTmdb.serve` under `/__fake/`: what the in-memory `FakeTmdbShape` offers, over HTTP and
 * JSON, for test suites in any language and for shell scripts. It never asks for the application credential (the
 * fake listens on 127.0.0.1) and never answers a secret value.
 */
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as SchemaGetter from "effect/SchemaGetter"
import * as SchemaIssue from "effect/SchemaIssue"
import type { ControlRefusal, Engine, RandomFaults } from "./fakeTmdb.js"
import { Fault } from "./fakeTmdb.js"

/** The reserved prefix. */
export const controlPrefix = "/__fake"

/** A duration as text ("61 minutes", "5 seconds"): Effect's duration syntax. */
const DurationText = Schema.String.annotate({
  message: "expected a duration as text, such as \"61 minutes\" or \"5 seconds\""
}).pipe(
  Schema.decodeTo(Schema.Duration, {
    decode: SchemaGetter.transformEffect((text: string) =>
      Option.match(Duration.fromInput(text as Duration.Input), {
        onNone: () =>
          Effect.fail(
            new SchemaIssue.InvalidValue(
              { message: `expected a duration such as "61 minutes" or "5 seconds", got ${JSON.stringify(text)}` },
              text
            )
          ),
        onSome: (duration) =>
          Duration.isFinite(duration) && Duration.toMillis(duration) > 0 && !text.trim().startsWith("-")
            ? Effect.succeed(duration)
            : Effect.fail(
              new SchemaIssue.InvalidValue(
                { message: "expected a positive, finite duration (the clock only moves forward)" },
                text
              )
            )
      })
    ),
    encode: SchemaGetter.transform((duration: Duration.Duration) => Duration.format(duration))
  })
)

const optional = <S extends Schema.Top>(schema: S) => Schema.optionalKey(schema)

const Rate = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))

const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

const NonEmptyTrimmedString = Schema.String.check(Schema.isTrimmed(), Schema.isNonEmpty())

const FaultJson = Schema.Union([
  Schema.TaggedStruct("RateLimited", { retryAfter: optional(NonNegativeInt) }),
  Schema.TaggedStruct("Unavailable", { code: optional(Schema.Literals([9, 46])) }),
  Schema.TaggedStruct("InternalError", {}),
  Schema.TaggedStruct("ConnectionReset", {}),
  Schema.TaggedStruct("Truncated", {}),
  Schema.TaggedStruct("Delay", { duration: DurationText })
])

const toFault = (json: typeof FaultJson.Type): Fault => {
  switch (json._tag) {
    case "RateLimited":
      return Fault.RateLimited(json.retryAfter === undefined ? {} : { retryAfter: json.retryAfter })
    case "Unavailable":
      return Fault.Unavailable(json.code === undefined ? {} : { code: json.code })
    case "InternalError":
      return Fault.InternalError()
    case "ConnectionReset":
      return Fault.ConnectionReset()
    case "Truncated":
      return Fault.Truncated()
    case "Delay":
      return Fault.Delay({ duration: json.duration })
  }
}

const RandomJson = Schema.Struct({
  seed: optional(Schema.Int),
  rateLimited: optional(Rate),
  unavailable: optional(Rate),
  connectionReset: optional(Rate),
  truncated: optional(Rate),
  delayed: optional(Rate),
  delay: optional(DurationText)
})

const FaultsBody = Schema.Union([
  Schema.Struct({ route: NonEmptyTrimmedString, faults: Schema.NonEmptyArray(FaultJson) }),
  Schema.Struct({ random: Schema.NullOr(RandomJson) })
])

const ApproveBody = Schema.Struct({
  request_token: NonEmptyTrimmedString,
  username: optional(NonEmptyTrimmedString)
})
const DenyBody = Schema.Struct({ request_token: NonEmptyTrimmedString })
/** An account as the control API and `fake-server --users` take it. */
export const UserBody = Schema.Struct({
  username: NonEmptyTrimmedString,
  password: Schema.NonEmptyString,
  status: optional(Schema.Literals(["active", "disabled", "unverified"])),
  name: optional(Schema.String)
})
/** A v4 user access token as the control API and `fake-server --v4-access-tokens` take it. */
export const V4TokenBody = Schema.Struct({
  access_token: NonEmptyTrimmedString,
  username: NonEmptyTrimmedString
})
const ClockBody = Schema.Struct({ advance: DurationText })

/** A refusal of the control API: an HTTP status, a name and a sentence. */
class ControlError {
  readonly _tag = "ControlError"
  constructor(readonly status: number, readonly error: string, readonly message: string) {}
}

const json = (body: unknown, status = 200) => HttpServerResponse.jsonUnsafe(body, { status })

const ok = json({ ok: true })

const formatIssue = SchemaIssue.makeFormatterDefault()

const body = <A>(schema: Schema.Decoder<A>) =>
  HttpServerRequest.schemaBodyJson(schema, { onExcessProperty: "error" }).pipe(
    Effect.mapError((error) =>
      error._tag === "SchemaError"
        ? new ControlError(400, "InvalidBody", formatIssue(error.issue))
        : new ControlError(400, "InvalidBody", "the body is not JSON")
    )
  )

const refused = (refusal: ControlRefusal, what: string) =>
  refusal === "UnknownRequestToken"
    ? new ControlError(404, refusal, "the fake has not issued this request token (or it was reset)")
    : refusal === "UnknownUser"
    ? new ControlError(404, refusal, `no such user: ${what} (add it with POST ${controlPrefix}/users)`)
    : new ControlError(409, refusal, "this request token was already denied or used to create a session")

const orRefused = (refusal: ControlRefusal | undefined, what = "") =>
  refusal === undefined ? Effect.succeed(ok) : Effect.fail(refused(refusal, what))

const iso = (at: DateTime.Utc) => DateTime.formatIso(at)

/** The routes of the control API, over one engine: each route a Layer on the router, as Effect 4 builds routers. */
export const controlApp = (engine: Engine) => {
  const fakeNow = Effect.map(Clock.currentTimeMillis, (millis) => engine.timeAt(millis))
  const routes = Layer.mergeAll(
    HttpRouter.add(
      "GET",
      `${controlPrefix}`,
      Effect.succeed(json({ routes: routeList }))
    ),
    HttpRouter.add(
      "POST",
      `${controlPrefix}/approve`,
      Effect.flatMap(body(ApproveBody), (b) => orRefused(engine.approve(b.request_token, b.username), b.username))
    ),
    HttpRouter.add(
      "POST",
      `${controlPrefix}/deny`,
      Effect.flatMap(body(DenyBody), (b) => orRefused(engine.deny(b.request_token)))
    ),
    HttpRouter.add(
      "POST",
      `${controlPrefix}/users`,
      Effect.map(body(UserBody), (user) => {
        engine.addUser(user)
        return ok
      })
    ),
    HttpRouter.add(
      "POST",
      `${controlPrefix}/v4-access-tokens`,
      Effect.flatMap(body(V4TokenBody), (b) =>
        engine.hasUser(b.username)
          ? Effect.sync(() => {
            engine.addV4AccessToken(b.access_token, b.username)
            return ok
          })
          : Effect.fail(refused("UnknownUser", b.username)))
    ),
    HttpRouter.add(
      "GET",
      `${controlPrefix}/v4-access-tokens`,
      Effect.sync(() => json(engine.liveAccessTokens().map((t) => ({ username: t.username, account_id: t.accountId }))))
    ),
    HttpRouter.add(
      "POST",
      `${controlPrefix}/faults`,
      Effect.map(body(FaultsBody), (b) => {
        if ("route" in b) engine.fail(b.route, b.faults.map(toFault))
        else engine.setRandomFaults(b.random === null ? undefined : randomFaults(b.random))
        return ok
      })
    ),
    HttpRouter.add(
      "DELETE",
      `${controlPrefix}/faults`,
      Effect.sync(() => {
        engine.clearFaults()
        return ok
      })
    ),
    HttpRouter.add(
      "POST",
      `${controlPrefix}/clock`,
      Effect.flatMap(body(ClockBody), (b) => {
        engine.advanceClock(b.advance)
        return clockAnswer
      })
    ),
    HttpRouter.add("GET", `${controlPrefix}/clock`, Effect.suspend(() => clockAnswer)),
    HttpRouter.add(
      "POST",
      `${controlPrefix}/reset`,
      Effect.sync(() => {
        engine.reset()
        return ok
      })
    ),
    HttpRouter.add(
      "GET",
      `${controlPrefix}/requests`,
      Effect.sync(() =>
        json(engine.requests.map((r) => ({
          method: r.method,
          path: r.path,
          credential: r.credential,
          body_keys: r.bodyKeys,
          status: r.status,
          status_code: r.statusCode ?? null,
          at: iso(r.at)
        })))
      )
    ),
    HttpRouter.add(
      "GET",
      `${controlPrefix}/counters`,
      Effect.sync(() => json(engine.counters))
    ),
    HttpRouter.add(
      "GET",
      `${controlPrefix}/sessions`,
      Effect.sync(() =>
        json(engine.liveSessions().map((s) => ({ username: s.username, created_at: iso(s.createdAt) })))
      )
    ),
    HttpRouter.add(
      "GET",
      `${controlPrefix}/guest-sessions`,
      Effect.map(
        Clock.currentTimeMillis,
        (millis) => json(engine.liveGuestSessions(millis).map((g) => ({ expires_at: iso(g.expiresAt) })))
      )
    )
  )
  const clockAnswer = Effect.map(
    fakeNow,
    (now) => json({ ok: true, now: new Date(now).toISOString(), offset_ms: engine.clockOffsetMillis })
  )
  // The router is built once, in the server's scope: the app it returns answers each request.
  return Effect.map(HttpRouter.toHttpEffect(routes), (router) =>
    router.pipe(
      Effect.catch((error) =>
        Effect.succeed(
          error instanceof ControlError
            ? json({ error: error.error, message: error.message }, error.status)
            : error.reason._tag === "RouteNotFound"
            ? json({
              error: "NotFound",
              message: `no control route ${error.request.method} ${
                new URL(error.request.url, "http://fake").pathname
              }; the routes are: ${routeList.join(", ")}`
            }, 404)
            : json({ error: "InternalError", message: String(error) }, 500)
        )
      )
    ))
}

const routeList = [
  "GET /__fake",
  "POST /__fake/approve",
  "POST /__fake/deny",
  "POST /__fake/users",
  "POST /__fake/v4-access-tokens",
  "GET /__fake/v4-access-tokens",
  "POST /__fake/faults",
  "DELETE /__fake/faults",
  "POST /__fake/clock",
  "GET /__fake/clock",
  "POST /__fake/reset",
  "GET /__fake/requests",
  "GET /__fake/counters",
  "GET /__fake/sessions",
  "GET /__fake/guest-sessions"
]

const randomFaults = (json: typeof RandomJson.Type): RandomFaults => {
  const { delay, ...rates } = json
  return delay === undefined ? rates : { ...rates, delay }
}
