import { describe, expect, it } from "@effect/vitest"
import type { Tracer } from "effect"
import { Cause, DateTime, Effect, Exit, Fiber, Inspectable, Layer, Logger, Redacted, References } from "effect"
import { TestClock } from "effect/testing"
import * as EffectTracer from "effect/Tracer"
import { AuthService, RequestToken, TmdbConfig } from "../src/index.js"
import { FakeTmdb } from "../src/testing/index.js"
import * as Scripted from "./support/ScriptedClient.js"
import { ok, tmdbError } from "./support/ScriptedClient.js"

const SECRETS = {
  accessToken: "eyJhbGciOiJIUzI1NiJ9.SECRET-READ-ACCESS-TOKEN",
  apiKey: "feedfacecafebeef0123456789abcdef",
  password: "correct-horse-SECRET-password",
  requestToken: "ff5c7eeb5a8870efe3cd7fc5SECRETTOKEN",
  sessionId: "79191836ddaa0da3SECRETSESSION",
  guestSessionId: "1ce82ec1223641636SECRETGUEST",
  v4AccessToken: "eyJ.SECRET-V4-USER-TOKEN"
}

interface Captured {
  readonly spans: Array<EffectTracer.Span>
  readonly logs: Array<string>
}

const capture = (): Captured & { readonly tracer: Tracer.Tracer; readonly logger: Logger.Logger<unknown, void> } => {
  const spans: Array<EffectTracer.Span> = []
  const logs: Array<string> = []
  const native = EffectTracer.make({
    span(options) {
      const span = Effect.runSync(Effect.map(Effect.tracer, (t) => t.span(options)))
      spans.push(span)
      return span
    }
  })
  const logger = Logger.make(({ cause, fiber, logLevel, message }) => {
    logs.push(JSON.stringify({
      level: logLevel,
      message: Inspectable.toStringUnknown(message),
      annotations: fiber.getRef(References.CurrentLogAnnotations),
      spans: Array.from(fiber.getRef(References.CurrentLogSpans), ([label]) => label),
      cause: Cause.pretty(cause)
    }))
  })
  return { spans, logs, tracer: native, logger }
}

const describeSpan = (span: EffectTracer.Span): string =>
  JSON.stringify({
    name: span.name,
    attributes: Object.fromEntries(Array.from(span.attributes, ([k, v]) => [k, String(v)])),
    events: (span as unknown as { readonly events?: ReadonlyArray<unknown> }).events ?? [],
    exit: span.status._tag === "Ended" && Exit.isFailure(span.status.exit) ? Cause.pretty(span.status.exit.cause) : ""
  }, (_, v) => typeof v === "bigint" ? String(v) : v)

const expectNoSecret = (text: string) => {
  for (const [name, secret] of Object.entries(SECRETS)) {
    expect(text, `${name} leaked`).not.toContain(secret)
  }
}

const tokenBody = { expires_at: "1970-01-01 01:00:00 UTC", request_token: SECRETS.requestToken }

/** A session touching every endpoint and every failure path that carries data. */
const script: ReadonlyArray<Scripted.Canned> = [
  ok({}),
  ok(tokenBody),
  tmdbError(429, 25, "Over the limit", { "retry-after": "1" }),
  ok(tokenBody),
  ok({ session_id: SECRETS.sessionId }),
  ok({ session_id: SECRETS.sessionId }),
  ok({}),
  ok({ guest_session_id: SECRETS.guestSessionId, expires_at: "1970-01-02 00:00:00 UTC" }),
  ok(tokenBody),
  tmdbError(401, 30, "Invalid username and/or password: You did not provide a valid login."),
  tmdbError(404, 37, "The resource you requested could not be found."),
  { status: 0, transportFailure: true },
  { status: 0, transportFailure: true },
  { status: 200, body: { success: true, expires_at: SECRETS.requestToken, request_token: SECRETS.requestToken } },
  // A GET: a garbled answer is asked again (maxRetries 1), and garbled again.
  { status: 200, body: { success: true, expires_at: SECRETS.requestToken, request_token: SECRETS.requestToken } },
  { ...ok({}), delay: "1 minute" },
  { ...ok({}), delay: "1 minute" }
]

const exercise = Effect.gen(function*() {
  const auth = yield* AuthService
  const errors: Array<unknown> = []
  const collect = <A, E>(effect: Effect.Effect<A, E>) => Effect.catch(effect, (e) => Effect.sync(() => errors.push(e)))
  yield* auth.validateKey
  const session = yield* auth.login({ username: "jane", password: Redacted.make(SECRETS.password) })
  yield* auth.createSessionFromV4(SECRETS.v4AccessToken)
  yield* auth.deleteSession(session)
  yield* auth.createGuestSession
  yield* collect(auth.login({ username: "jane", password: SECRETS.password }))
  yield* collect(auth.deleteSession(SECRETS.sessionId))
  yield* collect(auth.createSession(SECRETS.requestToken))
  yield* collect(auth.createSession(Redacted.make(SECRETS.requestToken)))
  yield* collect(auth.createRequestToken)
  yield* collect(auth.validateKey)
  return errors
})

/** The scenario, with per-request spans on (the most the library can record) unless told otherwise. */
const run = (mode: "accessToken" | "apiKey", requestSpans = true) =>
  Effect.gen(function*() {
    const captured = capture()
    const config = mode === "apiKey"
      ? TmdbConfig.layer({ apiKey: SECRETS.apiKey, retry: { maxRetries: 1 }, requestSpans })
      : TmdbConfig.layer({ accessToken: SECRETS.accessToken, retry: { maxRetries: 1 }, requestSpans })
    const layer = AuthService.layer.pipe(
      Layer.provide(config),
      Layer.provide(Scripted.layer(script)),
      Layer.merge(Logger.layer([captured.logger, Logger.tracerLogger])),
      Layer.merge(Layer.succeed(References.MinimumLogLevel, "All"))
    )
    const fiber = yield* exercise.pipe(
      Effect.tap(() => Effect.logInfo("exercise done")),
      Effect.provide(layer),
      Effect.withTracer(captured.tracer),
      Effect.forkChild
    )
    yield* TestClock.adjust("2 minutes")
    const errors = yield* Fiber.join(fiber)
    return { ...captured, errors }
  })

describe("secrets", () => {
  for (const mode of ["accessToken", "apiKey"] as const) {
    it.effect(`no log line, span name, attribute or event shows a secret (${mode} mode)`, () =>
      Effect.gen(function*() {
        const { errors, logs, spans } = yield* run(mode)
        // The scenario did produce what we inspect: spans with URLs, retry logs and failures.
        expect(spans.some((s) => s.attributes.has("url.full"))).toBe(true)
        expect(logs.some((l) => l.includes("Retrying in"))).toBe(true)
        expect(errors.map((e) => (e as { readonly _tag: string })._tag)).toEqual([
          "InvalidCredentials",
          "SessionNotFound",
          "TransportError",
          "TransportError",
          "MalformedResponse",
          "TransportError"
        ])
        for (const span of spans) expectNoSecret(describeSpan(span))
        for (const line of logs) expectNoSecret(line)
      }))

    it.effect(`no error message, String, JSON or Cause.pretty shows a secret (${mode} mode)`, () =>
      Effect.gen(function*() {
        const { errors } = yield* run(mode)
        expect(errors.length).toBeGreaterThan(0)
        for (const error of errors) {
          expectNoSecret((error as Error).message)
          expectNoSecret(String(error))
          expectNoSecret(JSON.stringify(error))
          expectNoSecret(Cause.pretty(Cause.fail(error)))
          expectNoSecret(Inspectable.toStringUnknown(error))
        }
      }))
  }

  it.effect("v4: no span, log or error shows the request token or the user access token", () =>
    Effect.gen(function*() {
      const captured = capture()
      const texts: Array<string> = []
      const tokens = yield* Effect.gen(function*() {
        const auth = yield* AuthService
        const fake = yield* FakeTmdb
        const requestToken = yield* auth.createRequestTokenV4()
        yield* fake.approve(requestToken)
        const accessToken = yield* Effect.scoped(auth.scopedAccessToken(requestToken))
        const again = yield* Effect.flip(auth.createAccessToken(requestToken))
        const gone = yield* Effect.flip(auth.createSessionFromV4(accessToken))
        texts.push(String(again), JSON.stringify(gone), Cause.pretty(Cause.fail(gone)))
        return [Redacted.value(requestToken.token), Redacted.value(accessToken.accessToken)]
      }).pipe(
        Effect.provide(FakeTmdb.layerAuthService()),
        Effect.provide(
          Layer.merge(
            Logger.layer([captured.logger, Logger.tracerLogger]),
            Layer.succeed(References.MinimumLogLevel, "All")
          )
        ),
        Effect.withTracer(captured.tracer)
      )
      const all = [...captured.spans.map(describeSpan), ...captured.logs, ...texts].join("\n")
      expect(captured.spans.map((s) => s.name)).toContain("AuthService.createAccessToken")
      for (const token of tokens) expect(all).not.toContain(token)
    }))

  it.effect("the api_key sits in url.full only as <redacted>", () =>
    Effect.gen(function*() {
      const { spans } = yield* run("apiKey")
      const urls = spans.flatMap((s) => s.attributes.has("url.full") ? [String(s.attributes.get("url.full"))] : [])
      expect(urls.length).toBeGreaterThan(0)
      for (const url of urls) expect(url).toMatch(/\?api_key=<redacted>$/)
    }))

  it.effect("by default no per-request span: only the methods' spans; with requestSpans one per HTTP attempt", () =>
    Effect.gen(function*() {
      const quiet = yield* run("accessToken", false)
      expect(quiet.spans.filter((s) => s.name.startsWith("http.client"))).toEqual([])
      expect(quiet.spans.every((s) => s.name.startsWith("AuthService."))).toBe(true)
      const traced = yield* run("accessToken", true)
      // 16 scripted answers, one span per attempt.
      expect(traced.spans.filter((s) => s.name.startsWith("http.client"))).toHaveLength(script.length)
    }))

  it.effect("each public method called is one span named AuthService.<method>; login's steps record none", () =>
    Effect.gen(function*() {
      const captured = capture()
      yield* Effect.gen(function*() {
        const auth = yield* AuthService
        const password = FakeTmdb.defaults.user.password
        yield* auth.validateKey
        const token = yield* auth.createRequestToken
        const approved = yield* auth.validateWithLogin({ username: "demo", password, requestToken: token })
        yield* auth.deleteSession(yield* auth.createSession(approved))
        yield* auth.deleteSession(yield* auth.createSessionFromV4("eyJ.v4-user"))
        yield* auth.createGuestSession
        yield* auth.login({ username: "demo", password })
      }).pipe(
        Effect.provide(
          FakeTmdb.layerAuthService({ v4AccessTokens: [{ accessToken: "eyJ.v4-user", username: "demo" }] })
        ),
        Effect.withTracer(captured.tracer)
      )
      expect(captured.spans.map((s) => s.name)).toEqual([
        "AuthService.validateKey",
        "AuthService.createRequestToken",
        "AuthService.validateWithLogin",
        "AuthService.createSession",
        "AuthService.deleteSession",
        "AuthService.createSessionFromV4",
        "AuthService.deleteSession",
        "AuthService.createGuestSession",
        "AuthService.login"
      ])
      // With requestSpans, login's HTTP attempts are its children: the token, validate_with_login answered 429 then retried, session/new.
      const { spans } = yield* run("accessToken", true)
      const login = spans.find((s) => s.name === "AuthService.login")!
      const children = spans.filter((s) => s.parent._tag === "Some" && s.parent.value.spanId === login.spanId)
      expect(children.map((s) => s.name)).toEqual([
        "http.client GET",
        "http.client POST",
        "http.client POST",
        "http.client POST"
      ])
    }))
})

describe("secrets never come back in through the server's words", () => {
  const echo = (text: string) => tmdbError(401, 30, `You sent: ${text}`)
  const password = "p@ss word/SECRET&x=1"

  it.effect("a status_message echoing the password, request token and API key (also URL- and JSON-encoded) is scrubbed", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const requestToken = new RequestToken({
        token: Redacted.make(SECRETS.requestToken),
        expiresAt: DateTime.makeUnsafe(Date.parse("2100-01-01T00:00:00Z"))
      })
      const error = yield* Effect.flip(auth.validateWithLogin({ username: "jane", password, requestToken }))
      expect(error._tag).toBe("InvalidCredentials")
      const rendered = [
        error.message,
        String(error),
        JSON.stringify(error),
        Cause.pretty(Cause.fail(error)),
        (error as { readonly statusMessage?: string }).statusMessage ?? ""
      ].join("\n")
      for (const secret of [password, encodeURIComponent(password), SECRETS.requestToken, SECRETS.apiKey]) {
        expect(rendered).not.toContain(secret)
      }
      expect(rendered).toContain("<redacted>")
    }).pipe(Effect.provide(
      AuthService.layer.pipe(
        Layer.provideMerge(Layer.merge(
          TmdbConfig.layer({ apiKey: SECRETS.apiKey }),
          Scripted.layer([
            echo(
              `username=jane&password=${encodeURIComponent(password)}&request_token=${SECRETS.requestToken}` +
                ` api_key=${SECRETS.apiKey} json=${JSON.stringify(password)}`
            )
          ])
        ))
      )
    )))

  it.effect("a session id echoed back in an error is scrubbed", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const error = yield* Effect.flip(auth.deleteSession(SECRETS.sessionId))
      expect(error.message).not.toContain(SECRETS.sessionId)
      expect(error.message).toContain("<redacted>")
    }).pipe(Effect.provide(
      AuthService.layer.pipe(
        Layer.provideMerge(Layer.merge(
          TmdbConfig.layer({ accessToken: SECRETS.accessToken }),
          Scripted.layer([tmdbError(404, 37, `No session ${SECRETS.sessionId} for token ${SECRETS.accessToken}`)])
        ))
      )
    )))
})
