/**
 * "Sign in with TMDB" in a small Effect web app: a page with a sign-in link, TMDB's approval, "Signed in as <username>"
 * and a sign-out button; a JSON route that needs a signed-in user.
 *
 * Offline by default: it starts FakeTmdb.serve with an approval page that asks (Approve / Deny) as TMDB's does.
 * With TMDB_ACCESS_TOKEN (or TMDB_API_KEY) set it signs in with live TMDB instead. It makes its own signing key
 * unless TMDB_WEB_SIGNING_KEY is set, listens on 127.0.0.1 (PORT, default a free port) and prints its URL.
 *
 * It logs each request (HttpMiddleware.logger) and, with OTEL_TRACES_EXPORTER=console, prints its spans; the
 * callback, whose URL carries the request token, is in neither. Every page carries TmdbWebLogin.securityHeaders;
 * unknown paths get a small 404 page. LOGIN_RATE_LIMIT sets the sign-ins a minute per client (default 60 here).
 *
 * Run: npm run example:web
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { ConsoleSpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Config, Console, Context, Effect, Layer, Option, Redacted } from "effect"
import { AuthService, TmdbConfig, TmdbHttpClient } from "effect-tmdb-auth"
import { FakeTmdb } from "effect-tmdb-auth/testing"
import { CurrentAccount, TmdbWebLogin, WebSessionStore } from "effect-tmdb-auth/web"
import * as HttpMiddleware from "effect/http/HttpMiddleware"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import { randomBytes } from "node:crypto"
import { createServer } from "node:http"

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]!)

const layout = (body: string) =>
  HttpServerResponse.html(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Movie night</title>` +
      `<style>body{font-family:sans-serif;max-width:32rem;margin:4rem auto}button,a.button{font-size:1rem;padding:.5rem 1rem}</style>` +
      `</head><body><h1>Movie night</h1>${body}</body></html>`
  )

/** The home page: who is signed in, or the sign-in link. */
const home = Effect.gen(function*() {
  const web = yield* TmdbWebLogin
  const signedIn = yield* web.current(yield* HttpServerRequest.HttpServerRequest)
  return Option.match(signedIn, {
    onNone: () =>
      layout(`<p id="status">You are not signed in.</p>
<p><a class="button" id="sign-in" href="${web.prefix}/login?returnTo=%2F">Sign in with TMDB</a></p>`),
    onSome: ({ account }) =>
      layout(`<p id="status">Signed in as <strong id="username">${escapeHtml(account.username)}</strong></p>
<form method="post" action="${web.prefix}/logout"><button id="sign-out" type="submit">Sign out</button></form>`)
  })
}).pipe(
  // The session store cannot say who is signed in: say so, rather than offer a sign-in that would fail too.
  Effect.catchTag("SessionStoreUnavailable", () =>
    Effect.succeed(
      layout(`<p id="status">Sign-in is temporarily unavailable. Try again in a moment.</p>`).pipe(
        HttpServerResponse.setStatus(503)
      )
    ))
)

/** A JSON route for signed-in users only: 401 without a session. */
const api = HttpRouter.add(
  "GET",
  "/api/me",
  Effect.map(
    CurrentAccount,
    (account) => HttpServerResponse.jsonUnsafe({ id: account.id, username: account.username })
  )
).pipe(Layer.provide(TmdbWebLogin.requireSignIn({ unauthenticated: "json" })))

const notFound = layout(`<p id="status">There is no such page here.</p><p><a href="/">Home</a></p>`).pipe(
  HttpServerResponse.setStatus(404)
)

// Every other path: the wildcard route matches what no other route does.
const app = Layer.mergeAll(
  HttpRouter.add("GET", "/", home),
  TmdbWebLogin.router,
  api,
  HttpRouter.add("*", "*", notFound)
)

/** Spans to the console with OTEL_TRACES_EXPORTER=console, else none. */
const tracing = Layer.unwrap(Effect.map(
  Config.String("OTEL_TRACES_EXPORTER").pipe(Config.withDefault("none")),
  (exporter) =>
    exporter === "console"
      ? NodeSdk.layer(() => ({
        resource: { serviceName: "tmdb-web-example" },
        spanProcessor: new SimpleSpanProcessor(new ConsoleSpanExporter())
      }))
      : Layer.empty
))

/** TMDB: live with a credential in the environment, else FakeTmdb on a free port with the asking approval page. */
const tmdb = Layer.unwrap(Effect.gen(function*() {
  const live = (yield* Config.option(Config.String("TMDB_ACCESS_TOKEN"))).pipe(
    Option.orElse(() => Option.none<string>())
  )
  const apiKey = yield* Config.option(Config.String("TMDB_API_KEY"))
  if (Option.isSome(live) || Option.isSome(apiKey)) {
    yield* Console.log("Signing in with live TMDB (TMDB_ACCESS_TOKEN / TMDB_API_KEY is set).")
    return AuthService.layerLive
  }
  const fake = yield* FakeTmdb.serve({ interactiveApproval: true })
  yield* Console.log(`Signing in with FakeTmdb at ${fake.url} (user demo; set TMDB_ACCESS_TOKEN for live TMDB).`)
  return AuthService.layer.pipe(
    Layer.provide(TmdbHttpClient.layer),
    Layer.provideMerge(
      TmdbConfig.layer({ accessToken: FakeTmdb.defaults.accessToken, baseUrl: fake.url, webBaseUrl: fake.url })
    )
  )
}))

const main = Effect.gen(function*() {
  const port = yield* Config.Int("PORT").pipe(Config.withDefault(0))
  // The signing key: TMDB_WEB_SIGNING_KEY, or one made now (sessions then end when the app stops).
  const signingKey = yield* Config.Redacted("TMDB_WEB_SIGNING_KEY").pipe(
    Config.withDefault(Redacted.make(randomBytes(32).toString("base64url")))
  )
  const server = yield* Layer.build(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" }))
  const address = Context.get(server, HttpServer.HttpServer).address
  const bound = address._tag === "UnixPathAddress" ? port : address.port
  const publicUrl = yield* Config.String("PUBLIC_URL").pipe(Config.withDefault(`http://127.0.0.1:${bound}`))
  // Sign-ins a minute per client: the library's default is 10; here 60, so that trying it out is never refused.
  const loginRateLimit = yield* Config.Int("LOGIN_RATE_LIMIT").pipe(Config.withDefault(60))
  const services = yield* Layer.build(
    TmdbWebLogin.layer({ publicUrl, signingKey, loginRateLimit: { limit: loginRateLimit, window: "1 minute" } }).pipe(
      Layer.provideMerge(WebSessionStore.layerMemory),
      Layer.provideMerge(tmdb)
    )
  )
  const web = Context.get(services, TmdbWebLogin)
  yield* Layer.build(
    // Every page gets the security headers; every request a log line (HttpRouter.serve's logger), and a span, except
    // the callback: its URL carries the request token (the callback itself turns its log line off).
    HttpRouter.serve(app, { middleware: TmdbWebLogin.securityHeaders, disableListenLog: true }).pipe(
      Layer.provide(
        Layer.succeed(
          HttpMiddleware.TracerDisabledWhen,
          (request: HttpServerRequest.HttpServerRequest) => request.url.startsWith(`${web.prefix}/callback`)
        )
      ),
      Layer.provide(Layer.succeedContext(services)),
      Layer.provide(Layer.succeedContext(server))
    )
  )
  yield* Console.log(`Example app: ${publicUrl}  (Ctrl-C to stop)`)
  return yield* Effect.never
}).pipe(Effect.scoped, Effect.provide(tracing))

NodeRuntime.runMain(main)
