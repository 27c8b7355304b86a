/**
 * A consumer of the published package: `.ci/consumer-test.sh` packs the package, installs the tarball into a fresh
 * project, type-checks this file with `strict` and `exactOptionalPropertyTypes`, and runs it. It reaches the library
 * only through its published entry points.
 */
import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import { Context, Duration, Effect, Layer, Redacted, Schema } from "effect"
import { AuthService, type Session, TmdbClient, TmdbConfig, UserSession } from "effect-tmdb-auth"
import { FakeTmdb } from "effect-tmdb-auth/testing"
import { CurrentAccount, TmdbWebLogin, WebSessionStore } from "effect-tmdb-auth/web"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { TestClock } from "effect/testing"
import { createServer } from "node:http"

const check = (condition: boolean, what: string) =>
  condition ? Effect.void : Effect.die(new Error(`consumer check failed: ${what}`))

const loginAndLogout = Effect.gen(function*() {
  const auth = yield* AuthService
  const session: Session = yield* auth.login({ username: "demo", password: Redacted.make("demo-password") })
  yield* check(/^[0-9a-f]{40}$/.test(Redacted.value(session.sessionId)), "session id")
  yield* auth.deleteSession(session)
})

const Account = Schema.Struct({ id: Schema.Number, username: Schema.String })

const ownCall = Effect.gen(function*() {
  const auth = yield* AuthService
  const tmdb = yield* TmdbClient
  const session = yield* auth.login({ username: "demo", password: Redacted.make("demo-password") })
  const account = yield* tmdb.request({ method: "GET", path: "/3/account", session, response: Account })
  yield* check(account.username === "demo", "GET /3/account through TmdbClient")
  yield* auth.deleteSession(session)
  return "TmdbClient: the app's own GET /3/account with the session"
}).pipe(Effect.provide(FakeTmdb.layerAuthService()))

const inMemory = loginAndLogout.pipe(
  Effect.provide(FakeTmdb.layerAuthService()),
  Effect.as("in memory: logged in and out")
)

const overSocket = Effect.gen(function*() {
  const server = yield* FakeTmdb.serve()
  const auth = yield* Layer.build(AuthService.layer.pipe(
    Layer.provide(TmdbConfig.layer({ accessToken: FakeTmdb.defaults.accessToken, baseUrl: server.url })),
    Layer.provide(NodeHttpClient.layerUndici)
  )).pipe(Effect.map(Context.get(AuthService)))
  yield* loginAndLogout.pipe(Effect.provideService(AuthService, auth))
  yield* check((yield* server.sessions).length === 0, "session deleted on the server")
  return `over a socket: logged in and out at ${server.url}`
}).pipe(Effect.scoped)

const withTestClock = Effect.gen(function*() {
  const auth = yield* AuthService
  const token = yield* auth.createRequestToken
  yield* TestClock.adjust(Duration.minutes(60))
  const error = yield* Effect.flip(auth.createSession(token))
  yield* check(error._tag === "TokenExpired", `TokenExpired after 60 minutes, got ${error._tag}`)
  return "TestClock: the request token expired at minute 60"
}).pipe(Effect.provide(FakeTmdb.layerAuthService()), Effect.provide(TestClock.layer()))

const downstream = Effect.map(UserSession, (session) => Redacted.value(session.sessionId).length).pipe(
  Effect.provide(UserSession.layer({ username: "demo", password: "demo-password" })),
  Effect.provide(FakeTmdb.layerAuthService()),
  Effect.map((length) => `UserSession layer: a ${length}-character session id`)
)

/** Fetch with a cookie jar, following no redirect: a browser, for the sign-in's three hops. */
const browser = () => {
  const cookies = new Map<string, string>()
  return (url: string, init: RequestInit = {}) =>
    Effect.promise(async () => {
      const cookie = Array.from(cookies, ([name, value]) => `${name}=${value}`).join("; ")
      const headers = { ...(init.headers as Record<string, string> | undefined), ...(cookie === "" ? {} : { cookie }) }
      const response = await fetch(url, { ...init, redirect: "manual", headers })
      for (const header of response.headers.getSetCookie()) {
        const [pair = ""] = header.split(";")
        const at = pair.indexOf("=")
        if (/Max-Age=0/i.test(header)) cookies.delete(pair.slice(0, at))
        else cookies.set(pair.slice(0, at), pair.slice(at + 1))
      }
      return response
    })
}

// "Sign in with TMDB" through the web routes, over sockets: the app (the login's routes and a route behind
// requireSignIn) on one port, the fake TMDB (approving at once) on another.
const webSignIn = Effect.gen(function*() {
  const fake = yield* FakeTmdb.serve()
  const server = yield* Layer.build(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
  const address = Context.get(server, HttpServer.HttpServer).address
  const app = `http://127.0.0.1:${address._tag === "UnixPathAddress" ? 0 : address.port}`
  const me = HttpRouter.add(
    "GET",
    "/api/me",
    Effect.map(CurrentAccount, (account) => HttpServerResponse.jsonUnsafe({ username: account.username }))
  ).pipe(Layer.provide(TmdbWebLogin.requireSignIn()))
  const Auth = AuthService.layer.pipe(
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.provide(TmdbConfig.layer({
      accessToken: FakeTmdb.defaults.accessToken,
      baseUrl: fake.url,
      webBaseUrl: fake.url
    }))
  )
  yield* Layer.build(
    HttpRouter.serve(Layer.mergeAll(TmdbWebLogin.router, me), { disableLogger: true, disableListenLog: true }).pipe(
      Layer.provide(TmdbWebLogin.layer({ publicUrl: app, signingKey: "a consumer's signing key, 32+ chars long" })),
      Layer.provide(WebSessionStore.layerMemory),
      Layer.provide(Auth),
      Layer.provide(Layer.succeedContext(server))
    )
  )
  const go = browser()
  yield* check((yield* go(`${app}/api/me`)).status === 401, "401 before signing in")
  const login = yield* go(`${app}/auth/tmdb/login?returnTo=%2Fwelcome`)
  yield* check(login.status === 302, `login redirects to TMDB, got ${login.status}`)
  const approval = yield* go(login.headers.get("location")!)
  yield* check(approval.status === 302, `TMDB's page redirects back, got ${approval.status}`)
  const callback = yield* go(approval.headers.get("location")!)
  yield* check(callback.headers.get("location") === "/welcome", "the callback returns to returnTo")
  const me1 = yield* go(`${app}/api/me`)
  const body = (yield* Effect.promise(() => me1.json())) as { username?: string }
  yield* check(me1.status === 200 && body.username === "demo", `signed in as demo, got ${me1.status}`)
  const logout = yield* go(`${app}/auth/tmdb/logout`, { method: "POST", headers: { origin: app } })
  yield* check(logout.status === 303, `logout, got ${logout.status}`)
  yield* check((yield* fake.sessions).length === 0, "logout ended the TMDB session")
  return `web: signed in with TMDB through the routes at ${app} and out again`
}).pipe(Effect.scoped)

Effect.runPromise(Effect.all([inMemory, overSocket, withTestClock, downstream, ownCall, webSignIn])).then(
  (lines) => lines.forEach((line) => console.log(`ok - ${line}`)),
  (error) => {
    console.error(error)
    process.exitCode = 1
  }
)
