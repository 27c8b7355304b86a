/**
 * The control API of `FakeTmdb.serve` under `/__fake/`: what the in-memory `FakeTmdbShape` offers, over HTTP and
 * JSON, for test suites in any language and for shell scripts. It never asks for the application credential (the
 * fake listens on 127.0.0.1) and never answers a secret value.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { ControlRefusal, Engine, RandomFaults } from "./fakeTmdb.js"
import { Fault } from "./fakeTmdb.js"

/** The reserved prefix. */
export const controlPrefix = "/__fake"

/** A duration as text ("61 minutes", "5 seconds"): Effect's duration syntax. */
const DurationText = Schema.transformOrFail(
  Schema.String.annotations({ message: () => "expected a duration as text, such as \"61 minutes\" or \"5 seconds\"" }),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (text, _, ast) =>
      Option.match(Duration.decodeUnknown(text), {
        onNone: () =>
          ParseResult.fail(
            new ParseResult.Type(
              ast,
              text,
              `expected a duration such as "61 minutes" or "5 seconds", got ${JSON.stringify(text)}`
            )
          ),
        onSome: (duration) =>
          Duration.isFinite(duration) && Duration.toMillis(duration) > 0 && !text.trim().startsWith("-")
            ? ParseResult.succeed(duration)
            : ParseResult.fail(
              new ParseResult.Type(ast, text, "expected a positive, finite duration (the clock only moves forward)")
            )
      }),
    encode: (duration) => ParseResult.succeed(Duration.format(duration))
  }
)

const optional = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

const Rate = Schema.Number.pipe(Schema.between(0, 1))

const FaultJson = Schema.Union(
  Schema.TaggedStruct("RateLimited", { retryAfter: optional(Schema.NonNegativeInt) }),
  Schema.TaggedStruct("Unavailable", { code: optional(Schema.Literal(9, 46)) }),
  Schema.TaggedStruct("InternalError", {}),
  Schema.TaggedStruct("ConnectionReset", {}),
  Schema.TaggedStruct("Truncated", {}),
  Schema.TaggedStruct("Delay", { duration: DurationText })
)

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

const FaultsBody = Schema.Union(
  Schema.Struct({ route: Schema.NonEmptyTrimmedString, faults: Schema.NonEmptyArray(FaultJson) }),
  Schema.Struct({ random: Schema.NullOr(RandomJson) })
)

const ApproveBody = Schema.Struct({
  request_token: Schema.NonEmptyTrimmedString,
  username: optional(Schema.NonEmptyTrimmedString)
})
const DenyBody = Schema.Struct({ request_token: Schema.NonEmptyTrimmedString })
/** An account as the control API and `fake-server --users` take it. */
export const UserBody = Schema.Struct({
  username: Schema.NonEmptyTrimmedString,
  password: Schema.NonEmptyString,
  status: optional(Schema.Literal("active", "disabled", "unverified")),
  name: optional(Schema.String)
})
/** A v4 user access token as the control API and `fake-server --v4-access-tokens` take it. */
export const V4TokenBody = Schema.Struct({
  access_token: Schema.NonEmptyTrimmedString,
  username: Schema.NonEmptyTrimmedString
})
const ClockBody = Schema.Struct({ advance: DurationText })

/** A refusal of the control API: an HTTP status, a name and a sentence. */
class ControlError {
  readonly _tag = "ControlError"
  constructor(readonly status: number, readonly error: string, readonly message: string) {}
}

const json = (body: unknown, status = 200) => HttpServerResponse.unsafeJson(body, { status })

const ok = json({ ok: true })

const body = <A, I>(schema: Schema.Schema<A, I>) =>
  HttpServerRequest.schemaBodyJson(schema, { onExcessProperty: "error" }).pipe(
    Effect.mapError((error) =>
      error._tag === "ParseError"
        ? new ControlError(400, "InvalidBody", ParseResult.TreeFormatter.formatErrorSync(error))
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

/** The routes of the control API, over one engine. */
export const controlApp = (engine: Engine) => {
  const fakeNow = Effect.map(Clock.currentTimeMillis, (millis) => engine.timeAt(millis))
  const router = HttpRouter.empty.pipe(
    HttpRouter.get(
      `${controlPrefix}`,
      Effect.succeed(json({ routes: routeList }))
    ),
    HttpRouter.post(
      `${controlPrefix}/approve`,
      Effect.flatMap(body(ApproveBody), (b) => orRefused(engine.approve(b.request_token, b.username), b.username))
    ),
    HttpRouter.post(
      `${controlPrefix}/deny`,
      Effect.flatMap(body(DenyBody), (b) => orRefused(engine.deny(b.request_token)))
    ),
    HttpRouter.post(
      `${controlPrefix}/users`,
      Effect.map(body(UserBody), (user) => {
        engine.addUser(user)
        return ok
      })
    ),
    HttpRouter.post(
      `${controlPrefix}/v4-access-tokens`,
      Effect.flatMap(body(V4TokenBody), (b) =>
        engine.hasUser(b.username)
          ? Effect.sync(() => {
            engine.addV4AccessToken(b.access_token, b.username)
            return ok
          })
          : Effect.fail(refused("UnknownUser", b.username)))
    ),
    HttpRouter.get(
      `${controlPrefix}/v4-access-tokens`,
      Effect.sync(() => json(engine.liveAccessTokens().map((t) => ({ username: t.username, account_id: t.accountId }))))
    ),
    HttpRouter.post(
      `${controlPrefix}/faults`,
      Effect.map(body(FaultsBody), (b) => {
        if ("route" in b) engine.fail(b.route, b.faults.map(toFault))
        else engine.setRandomFaults(b.random === null ? undefined : randomFaults(b.random))
        return ok
      })
    ),
    HttpRouter.del(
      `${controlPrefix}/faults`,
      Effect.sync(() => {
        engine.clearFaults()
        return ok
      })
    ),
    HttpRouter.post(
      `${controlPrefix}/clock`,
      Effect.flatMap(body(ClockBody), (b) => {
        engine.advanceClock(b.advance)
        return clockAnswer
      })
    ),
    HttpRouter.get(`${controlPrefix}/clock`, Effect.suspend(() => clockAnswer)),
    HttpRouter.post(
      `${controlPrefix}/reset`,
      Effect.sync(() => {
        engine.reset()
        return ok
      })
    ),
    HttpRouter.get(
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
    HttpRouter.get(
      `${controlPrefix}/counters`,
      Effect.sync(() => json(engine.counters))
    ),
    HttpRouter.get(
      `${controlPrefix}/sessions`,
      Effect.sync(() =>
        json(engine.liveSessions().map((s) => ({ username: s.username, created_at: iso(s.createdAt) })))
      )
    ),
    HttpRouter.get(
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
  return router.pipe(
    Effect.catchAll((error) =>
      Effect.succeed(
        error instanceof ControlError
          ? json({ error: error.error, message: error.message }, error.status)
          : error._tag === "RouteNotFound"
          ? json({
            error: "NotFound",
            message: `no control route ${error.request.method} ${
              new URL(error.request.url, "http://fake").pathname
            }; the routes are: ${routeList.join(", ")}`
          }, 404)
          : json({ error: "InternalError", message: String(error) }, 500)
      )
    )
  )
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
