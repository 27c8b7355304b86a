/**
 * End to end over real sockets on 127.0.0.1: AuthService and TmdbClient against FakeTmdb.serve on each transport
 * (TmdbHttpClient, the lean one of layerLive; its lean fetch one; the platform's undici client; FetchHttpClient), with the same
 * expectations; and a TMDB client nobody here wrote (@lorenzopant/tmdb) against the same server.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { TMDB, TMDBError } from "@lorenzopant/tmdb"
import type { Config } from "effect"
import { ConfigProvider, Context, Deferred, Effect, Fiber, Layer, Redacted, Schema } from "effect"
import { FetchHttpClient, type HttpClient } from "effect/http"
import type { TmdbConfigSettings } from "../../src/index.js"
import { AuthService, awaitApproval, TmdbClient, TmdbConfig, TmdbHttpClient } from "../../src/index.js"
import type { FakeTmdbServer } from "../../src/testing/index.js"
import { FakeTmdb, Fault } from "../../src/testing/index.js"

const login = { username: "demo", password: "demo-password" }

type Transport = Layer.Layer<HttpClient.HttpClient, Config.ConfigError, TmdbConfig>

/** Every transport runs the same tests, with the same expectations. */
const transports: ReadonlyArray<readonly [string, Transport]> = [
  ["TmdbHttpClient (layerLive's)", TmdbHttpClient.layer],
  ["TmdbHttpClient.layerFetch", TmdbHttpClient.layerFetch],
  ["NodeHttpClient.layerUndici", NodeHttpClient.layerUndici],
  ["FetchHttpClient", FetchHttpClient.layer]
]

type Settings = TmdbConfigSettings & { readonly apiKey?: string }

/** AuthService and TmdbClient over real HTTP to the fake server, alive until the test's scope closes. */
const servicesOver = (server: FakeTmdbServer, transport: Transport, settings: Settings = {}) =>
  Layer.build(AuthService.layer.pipe(
    Layer.provide(transport),
    Layer.provide(
      settings.apiKey === undefined
        ? TmdbConfig.layer({
          ...settings,
          accessToken: FakeTmdb.defaults.accessToken,
          baseUrl: server.url,
          webBaseUrl: server.url
        })
        : TmdbConfig.layer({ ...settings, apiKey: settings.apiKey, baseUrl: server.url, webBaseUrl: server.url })
    )
  ))

for (const [transportName, transport] of transports) {
  /** AuthService over `transport`. */
  const authOver = (server: FakeTmdbServer, settings: Settings = {}) =>
    Effect.map(servicesOver(server, transport, settings), Context.get(AuthService))

  describe(`AuthService over sockets against FakeTmdb.serve, on ${transportName}`, () => {
    it.live("binds a free loopback port and logs in, then deletes the session", () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve()
        expect(server.url).toBe(`http://127.0.0.1:${server.port}`)
        expect(server.port).toBeGreaterThan(0)
        const auth = yield* authOver(server)
        yield* auth.validateKey
        const session = yield* auth.login(login)
        expect(yield* server.sessions).toHaveLength(1)
        const guest = yield* auth.createGuestSession
        expect(Redacted.value(guest.guestSessionId)).toMatch(/^[0-9a-f]{32}$/)
        yield* auth.deleteSession(session)
        expect(yield* server.sessions).toHaveLength(0)
      }).pipe(Effect.scoped), 20_000)

    it.live("gets each typed error from the server", () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve({ users: [{ username: "demo", password: "demo-password" }] })
        const auth = yield* authOver(server)
        const wrong = yield* Effect.flip(auth.login({ username: "demo", password: "nope" }))
        expect(wrong).toMatchObject({ _tag: "InvalidCredentials", reason: "WrongLogin", statusCode: 30 })
        const token = yield* auth.createRequestToken
        expect((yield* Effect.flip(auth.createSession(token)))._tag).toBe("SessionDenied")
        expect((yield* Effect.flip(auth.deleteSession("unknown")))._tag).toBe("SessionNotFound")
        expect((yield* Effect.flip(auth.createSessionFromV4("eyJ.nope")))._tag).toBe("InvalidToken")
        const badKey = yield* authOver(server, { apiKey: "wrong" })
        expect((yield* Effect.flip(badKey.validateKey))._tag).toBe("InvalidApiKey")
      }).pipe(Effect.scoped), 20_000)

    it.live("rides out a 429 with Retry-After: 1 and a connection reset on a GET", () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve()
        const auth = yield* authOver(server, { retry: { initialDelay: "10 millis" } })
        yield* server.fail(
          "GET /3/authentication/token/new",
          Fault.RateLimited({ retryAfter: 1 }),
          Fault.ConnectionReset()
        )
        const started = Date.now()
        yield* auth.createRequestToken
        expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
        expect((yield* server.requests).map((r) => r.status)).toEqual([429, 0, 200])
      }).pipe(Effect.scoped), 20_000)

    it.live("times out a slow answer with a typed error", () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve()
        const auth = yield* authOver(server, { timeout: "200 millis" })
        yield* server.fail("*", Fault.Delay({ duration: "10 seconds" }))
        const started = Date.now()
        const error = yield* Effect.flip(auth.createSession("x"))
        expect(error).toMatchObject({ _tag: "TransportError", reason: "Timeout" })
        // The caller gets its timeout, not the answer 10 s later, though the request goes on in the background
        // (a bound a busy machine keeps).
        expect(Date.now() - started).toBeLessThan(5_000)
      }).pipe(Effect.scoped), 20_000)

    it.live("a truncated body is retried on a GET, and a MalformedResponse on a POST", () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve()
        const auth = yield* authOver(server, { retry: { initialDelay: "10 millis" } })
        yield* server.fail("GET /3/authentication/guest_session/new", Fault.Truncated())
        yield* auth.createGuestSession
        const token = yield* auth.createRequestToken
        yield* server.fail("POST /3/authentication/token/validate_with_login", Fault.Truncated())
        const error = yield* Effect.flip(auth.validateWithLogin({ ...login, requestToken: token }))
        expect(error._tag).toBe("MalformedResponse")
      }).pipe(Effect.scoped), 20_000)

    it.live("the approval page approves and redirects, as the user's browser sees it", () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve()
        const auth = yield* authOver(server)
        const token = yield* auth.createRequestToken
        const url = auth.approvalUrl(token, { redirectTo: "http://127.0.0.1:1/done" })
        const response = yield* Effect.promise(() => fetch(url, { redirect: "manual" }))
        expect(response.status).toBe(302)
        const location = new URL(response.headers.get("location")!)
        expect(location.searchParams.get("approved")).toBe("true")
        yield* auth.createSession(location.searchParams.get("request_token")!)
      }).pipe(Effect.scoped), 20_000)

    it.live("retries a GET that timed out, and succeeds", () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve()
        const auth = yield* authOver(server, { timeout: "300 millis", retry: { initialDelay: "10 millis" } })
        yield* server.fail("GET /3/authentication/token/new", Fault.Delay({ duration: "10 seconds" }))
        const started = Date.now()
        yield* auth.createRequestToken
        // One attempt timed out at 300 ms; the retry was answered long before the slow answer (10 s) came.
        expect(Date.now() - started).toBeGreaterThanOrEqual(300)
        expect(Date.now() - started).toBeLessThan(5_000)
      }).pipe(Effect.scoped), 20_000)

    it.live("retries a 500 on a GET, not on a POST", () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve()
        const auth = yield* authOver(server, { retry: { initialDelay: "10 millis" } })
        yield* server.fail("GET /3/authentication/token/new", Fault.InternalError())
        const token = yield* auth.createRequestToken
        yield* server.fail("POST /3/authentication/token/validate_with_login", Fault.InternalError())
        const error = yield* Effect.flip(auth.validateWithLogin({ ...login, requestToken: token }))
        expect(error).toMatchObject({ _tag: "TmdbUnavailable", httpStatus: 500 })
        expect((yield* server.requests).map((r) => `${r.method} ${r.status}`)).toEqual([
          "GET 500",
          "GET 200",
          "POST 500"
        ])
      }).pipe(Effect.scoped), 20_000)

    it.live("an interrupted request stops at once, and the next one is answered", () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve()
        const auth = yield* authOver(server)
        yield* server.fail("GET /3/authentication/guest_session/new", Fault.Delay({ duration: "10 seconds" }))
        const fiber = yield* Effect.forkChild(auth.createGuestSession)
        yield* Effect.sleep("100 millis")
        const started = Date.now()
        yield* Fiber.interrupt(fiber)
        // Not waiting for the answer (10 s): a bound a busy machine keeps.
        expect(Date.now() - started).toBeLessThan(5_000)
        yield* auth.createGuestSession
      }).pipe(Effect.scoped), 20_000)

    it.live(
      "session/new answered after the timeout: the caller gets Timeout, the late session is deleted",
      () =>
        Effect.gen(function*() {
          const server = yield* FakeTmdb.serve()
          const auth = yield* authOver(server, { timeout: "300 millis", retry: { maxRestarts: 0 } })
          // The fake creates the session when the delay is over, as a loaded TMDB would.
          yield* server.fail("POST /3/authentication/session/new", Fault.Delay({ duration: "1500 millis" }))
          const error = yield* Effect.flip(auth.login(login))
          expect(error).toMatchObject({ _tag: "TransportError", reason: "Timeout" })
          // The request went on; its session, once created, is deleted in the background.
          const created = (requests: ReadonlyArray<{ readonly path: string; readonly status: number }>) =>
            requests.some((r) => r.path === "/3/authentication/session/new" && r.status === 200)
          const deadline = Date.now() + 15_000
          while (Date.now() < deadline) {
            const requests = yield* server.requests
            if (created(requests) && (yield* server.sessions).length === 0) break
            yield* Effect.sleep("50 millis")
          }
          expect(created(yield* server.requests)).toBe(true)
          expect(yield* server.sessions).toEqual([])
          expect((yield* server.requests).filter((r) => r.method === "DELETE").map((r) => r.status)).toEqual([200])
        }).pipe(Effect.scoped),
      30_000
    )

    it.live("logs in with the API key (api_key in the query, never in a span or error)", () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve()
        const auth = yield* authOver(server, { apiKey: FakeTmdb.defaults.apiKey })
        const session = yield* auth.login(login)
        yield* auth.deleteSession(session)
        expect((yield* server.requests).map((r) => r.credential)).toEqual(["api_key", "api_key", "api_key", "api_key"])
      }).pipe(Effect.scoped), 20_000)

    it.live(
      "a path that is not a path from the origin is refused before sending: the credential stays home",
      () =>
        Effect.gen(function*() {
          const server = yield* FakeTmdb.serve()
          const tmdb = Context.get(yield* servicesOver(server, transport), TmdbClient)
          for (const path of ["@127.0.0.1:1/steal", ".evil.example/x", "3/account", "/3/account#fragment"]) {
            const error = yield* Effect.flip(tmdb.request({ method: "GET", path, response: Schema.Unknown }))
            expect(error, path).toMatchObject({ _tag: "TransportError", reason: "InvalidUrl" })
          }
          expect(yield* server.requests).toEqual([])
        }).pipe(Effect.scoped),
      20_000
    )

    it.live("dot segments are resolved as a URL resolves them, on every transport", () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve()
        const tmdb = Context.get(yield* servicesOver(server, transport), TmdbClient)
        for (const path of ["/3/x/../authentication", "/3/./authentication", "/3/x/%2e%2e/authentication"]) {
          yield* tmdb.request({ method: "GET", path, response: Schema.Unknown })
        }
        expect((yield* server.requests).map((r) => r.path)).toEqual(Array(3).fill("/3/authentication"))
      }).pipe(Effect.scoped), 20_000)

    it.live("the app's raw HttpClient of TmdbClient carries the credential and base URL", () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve()
        const tmdb = Context.get(yield* servicesOver(server, transport), TmdbClient)
        const response = yield* tmdb.httpClient.get("/3/authentication")
        expect(response.status).toBe(200)
        expect(yield* response.json).toMatchObject({ success: true })
      }).pipe(Effect.scoped), 20_000)

    it.live("stops listening when its scope closes", () =>
      Effect.gen(function*() {
        const url = yield* FakeTmdb.serve().pipe(Effect.map((s) => s.url), Effect.scoped)
        const result = yield* Effect.promise(() =>
          fetch(`${url}/3/authentication`).then(() => "answered", () => "refused")
        )
        expect(result).toBe("refused")
      }), 20_000)
  })

  describe(`TmdbClient over sockets against FakeTmdb.serve, on ${transportName}`, () => {
    const Account = Schema.Struct({ id: Schema.Number, username: Schema.String })

    for (const mode of ["access token", "api key"] as const) {
      it.live(
        `an app's own call with a session (${mode}): GET /3/account, then SessionNotFound after logout`,
        () =>
          Effect.gen(function*() {
            const server = yield* FakeTmdb.serve()
            const context = yield* servicesOver(
              server,
              transport,
              mode === "api key" ? { apiKey: FakeTmdb.defaults.apiKey } : {}
            )
            const auth = Context.get(context, AuthService)
            const tmdb = Context.get(context, TmdbClient)
            const session = yield* auth.login(login)
            const account = yield* tmdb.request({ method: "GET", path: "/3/account", session, response: Account })
            expect(account.username).toBe("demo")
            yield* auth.deleteSession(session)
            const error = yield* Effect.flip(
              tmdb.request({ method: "GET", path: "/3/account", session, response: Account })
            )
            expect(error).toMatchObject({ _tag: "SessionNotFound", statusCode: 3, httpStatus: 401 })
            expect(error.message).not.toContain(Redacted.value(session.sessionId))
          }).pipe(Effect.scoped),
        20_000
      )
    }
  })
}

describe("AuthService.layerLive over sockets", () => {
  it.live(
    "AuthService.layerLive reads its configuration from the environment and runs on TmdbHttpClient",
    () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve()
        const env = ConfigProvider.fromUnknown({
          TMDB_ACCESS_TOKEN: FakeTmdb.defaults.accessToken,
          TMDB_BASE_URL: server.url
        })
        const auth = yield* Layer.build(AuthService.layerLive.pipe(Layer.provide(ConfigProvider.layer(env)))).pipe(
          Effect.map(Context.get(AuthService))
        )
        yield* auth.login(login)
        expect((yield* server.requests).map((r) => r.credential)).toEqual(["bearer", "bearer", "bearer"])
      }).pipe(Effect.scoped),
    20_000
  )
})

/** AuthService over layerLive's transport. */
const authOnLean = (server: FakeTmdbServer, settings: Settings = {}) =>
  Effect.map(servicesOver(server, TmdbHttpClient.layer, settings), Context.get(AuthService))

describe("awaitApproval over sockets", () => {
  it.live(
    "completes when TMDB redirects to the callback server; the test is the user's browser",
    () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve()
        const auth = yield* authOnLean(server)
        const token = yield* auth.createRequestToken
        const approved = yield* awaitApproval(token, {
          onApprovalUrl: (url) => Effect.promise(() => fetch(url)).pipe(Effect.forkDetach, Effect.asVoid)
        }).pipe(Effect.provideService(AuthService, auth))
        expect(Redacted.value(approved.token)).toBe(Redacted.value(token.token))
        yield* auth.createSession(approved)
        expect(yield* server.sessions).toHaveLength(1)
      }).pipe(Effect.scoped),
    20_000
  )

  it.live(
    "fails with ApprovalTimeout when nobody approves, and closes the callback server",
    () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve()
        const auth = yield* authOnLean(server)
        const token = yield* auth.createRequestToken
        let callback = ""
        const error = yield* Effect.flip(
          awaitApproval(token, {
            timeout: "200 millis",
            onApprovalUrl: (url) => Effect.sync(() => (callback = new URL(url).searchParams.get("redirect_to")!))
          }).pipe(Effect.provideService(AuthService, auth))
        )
        expect(error._tag).toBe("ApprovalTimeout")
        const after = yield* Effect.promise(() => fetch(callback).then(() => "answered", () => "refused"))
        expect(after).toBe("refused")
      }).pipe(Effect.scoped),
    20_000
  )

  it.live("is interruptible: interrupting it closes the callback server", () =>
    Effect.gen(function*() {
      const server = yield* FakeTmdb.serve()
      const auth = yield* authOnLean(server)
      const token = yield* auth.createRequestToken
      const ready = yield* Deferred.make<string>()
      const fiber = yield* Effect.forkChild(
        awaitApproval(token, {
          onApprovalUrl: (url) =>
            Deferred.succeed(ready, new URL(url).searchParams.get("redirect_to")!).pipe(Effect.asVoid)
        }).pipe(Effect.provideService(AuthService, auth))
      )
      const callback = yield* Deferred.await(ready)
      yield* Fiber.interrupt(fiber)
      const after = yield* Effect.promise(() => fetch(callback).then(() => "answered", () => "refused"))
      expect(after).toBe("refused")
    }).pipe(Effect.scoped), 20_000)

  it.live(
    "v4: the approval page sends the browser to redirect_to; then the access token and a v3 session",
    () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve()
        const auth = yield* authOnLean(server)
        const requestToken = yield* auth.createRequestTokenV4({ redirectTo: "http://127.0.0.1:1/v4-done" })
        const response = yield* Effect.promise(() => fetch(auth.approvalUrlV4(requestToken), { redirect: "manual" }))
        expect(response.status).toBe(302)
        expect(response.headers.get("location")).toBe("http://127.0.0.1:1/v4-done")
        const accessToken = yield* auth.createAccessToken(requestToken)
        yield* auth.createSessionFromV4(accessToken)
        yield* auth.deleteAccessToken(accessToken)
        expect(yield* server.userAccessTokens).toHaveLength(0)
      }).pipe(Effect.scoped),
    20_000
  )
})

/** Runs `f` with fetch pointed at the fake: @lorenzopant/tmdb has TMDB's base URL hard-coded. */
const withFetchTo = <A>(server: FakeTmdbServer, f: () => Promise<A>): Promise<A> => {
  const original = globalThis.fetch
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url)
    if (url.origin !== "https://api.themoviedb.org") throw new Error(`unexpected fetch to ${url.origin}`)
    return original(`${server.url}${url.pathname}${url.search}`, init)
  }) as typeof fetch
  return f().finally(() => {
    globalThis.fetch = original
  })
}

describe("fidelity: @lorenzopant/tmdb against FakeTmdb.serve", () => {
  it.live(
    "runs request token, validate with login, session, delete and guest session as against TMDB",
    () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve()
        const results = yield* Effect.promise(() =>
          withFetchTo(server, async () => {
            const tmdb = new TMDB(FakeTmdb.defaults.accessToken)
            const validated = await tmdb.authentication.validate_key()
            const token = await tmdb.authentication.create_request_token()
            const approved = await tmdb.authentication.create_session_with_login({
              ...login,
              request_token: token.request_token
            })
            const session = await tmdb.authentication.create_session({ request_token: approved.request_token })
            const deleted = await tmdb.authentication.delete_session({ session_id: session.session_id })
            const guest = await tmdb.authentication.create_guest_session()
            return { validated, token, approved, session, deleted, guest }
          })
        )
        expect(results.validated).toEqual({ success: true, status_code: 1, status_message: "Success." })
        expect(results.token.success).toBe(true)
        expect(results.token.expires_at).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/)
        expect(results.approved.request_token).toBe(results.token.request_token)
        expect(results.session.session_id).toMatch(/^[0-9a-f]{40}$/)
        expect(results.deleted).toEqual({ success: true })
        expect(results.guest.expires_at).toMatch(/ UTC$/)
        expect((yield* server.requests).map((r) => [r.method, r.path, r.credential, r.status])).toEqual([
          ["GET", "/3/authentication", "bearer", 200],
          ["GET", "/3/authentication/token/new", "bearer", 200],
          ["POST", "/3/authentication/token/validate_with_login", "bearer", 200],
          ["POST", "/3/authentication/session/new", "bearer", 200],
          ["DELETE", "/3/authentication/session", "bearer", 200],
          ["GET", "/3/authentication/guest_session/new", "bearer", 200]
        ])
      }).pipe(Effect.scoped),
    20_000
  )

  it.live("gets its TMDBError with tmdb_status_code 30 for a wrong password", () =>
    Effect.gen(function*() {
      const server = yield* FakeTmdb.serve()
      const error = yield* Effect.promise(() =>
        withFetchTo(server, async () => {
          const tmdb = new TMDB(FakeTmdb.defaults.accessToken)
          const token = await tmdb.authentication.create_request_token()
          return tmdb.authentication.create_session_with_login({
            username: "demo",
            password: "wrong",
            request_token: token.request_token
          }).then(() => undefined, (e: unknown) => e)
        })
      )
      expect(error).toBeInstanceOf(TMDBError)
      expect(error).toMatchObject({
        tmdb_status_code: 30,
        http_status_code: 401,
        message: "Invalid username and/or password: You did not provide a valid login."
      })
    }).pipe(Effect.scoped), 20_000)
})
