/**
 * The web login's test app over real sockets on 127.0.0.1: a fetch "browser" with a cookie jar, FakeTmdb.serve,
 * AuthService over TmdbHttpClient, a session store and TmdbWebLogin, served as route layers of an HttpRouter.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Effect, Layer, Logger, Schema } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { createServer } from "node:http"
import { expect } from "vitest"
import { AuthService, type TmdbClient, TmdbConfig, TmdbHttpClient } from "../../src/index.js"
import type { FakeTmdbServer } from "../../src/testing/index.js"
import { FakeTmdb } from "../../src/testing/index.js"
import type { TmdbWebLoginOptions } from "../../src/web/index.js"
import {
  CurrentAccount,
  layerTmdbAuthHandlers,
  SignedIn,
  TmdbAuthGroup,
  TmdbSignIn,
  TmdbWebLogin,
  WebSessionStore,
  type WebSessionStoreShape
} from "../../src/web/index.js"

export const KEY = "0123456789abcdef0123456789abcdef-test-key"

/** A browser, for fetch: keeps cookies, follows no redirect by itself. */
export class Browser {
  readonly cookies = new Map<string, string>()
  readonly setCookies: Array<string> = []
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const cookie = Array.from(this.cookies, ([name, value]) => `${name}=${value}`).join("; ")
    const response = await fetch(url, {
      ...init,
      redirect: "manual",
      headers: { ...(init.headers as Record<string, string> | undefined), ...(cookie === "" ? {} : { cookie }) }
    })
    for (const header of response.headers.getSetCookie()) {
      this.setCookies.push(header)
      const [pair = ""] = header.split(";")
      const at = pair.indexOf("=")
      const name = pair.slice(0, at)
      if (/Max-Age=0/i.test(header)) this.cookies.delete(name)
      else this.cookies.set(name, pair.slice(at + 1))
    }
    return response
  }
  /** The whole sign-in: login, TMDB's (the fake's, approving at once) page, callback. */
  async signIn(app: string, returnTo = "/"): Promise<Response> {
    const login = await this.fetch(`${app}/auth/tmdb/login?returnTo=${encodeURIComponent(returnTo)}`)
    expect(login.status).toBe(302)
    const approval = await this.fetch(login.headers.get("location")!)
    expect(approval.status).toBe(302)
    return this.fetch(approval.headers.get("location")!)
  }
}

export const me = HttpRouter.add(
  "GET",
  "/api/me",
  Effect.map(CurrentAccount, (a) => HttpServerResponse.jsonUnsafe({ username: a.username }))
).pipe(Layer.provide(TmdbWebLogin.requireSignIn()))

export interface Running {
  readonly app: string
  readonly fake: FakeTmdbServer
  /** The app's session store, to look at what it holds. */
  readonly store: WebSessionStoreShape
}

export const authOver = (fake: FakeTmdbServer) =>
  AuthService.layer.pipe(
    Layer.provide(TmdbHttpClient.layer),
    Layer.provideMerge(TmdbConfig.layer({
      accessToken: FakeTmdb.defaults.accessToken,
      baseUrl: fake.url,
      webBaseUrl: fake.url,
      retry: { maxRetries: 1 }
    }))
  )

/** A server on a free port, then the fake, AuthService, a store and the web login, for one scope. */
export const services = <E>(
  store: Layer.Layer<WebSessionStore, E>,
  options: Partial<TmdbWebLoginOptions>,
  existingFake?: FakeTmdbServer
) =>
  Effect.gen(function*() {
    const fake = existingFake ?? (yield* FakeTmdb.serve())
    const server = yield* Layer.build(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
    const address = Context.get(server, HttpServer.HttpServer).address
    const app = `http://127.0.0.1:${address._tag === "UnixPathAddress" ? 0 : address.port}`
    const context = yield* Layer.build(
      TmdbWebLogin.layer({ publicUrl: app, signingKey: KEY, ...options }).pipe(
        Layer.provideMerge(store),
        Layer.provideMerge(authOver(fake))
      )
    )
    return { app, fake, server, context }
  })

/** What the app's routes may use: the router, the login's services (at build or per request), any error. */
export type RouteNeeds =
  | HttpRouter.HttpRouter
  | TmdbWebLogin
  | HttpRouter.Request.From<"Requires", TmdbWebLogin | TmdbClient | AuthService>
  | HttpRouter.Request<"Error", unknown>

/** What a test adds to the app: its own routes (with TmdbClient, AuthService... provided), a log of its own. */
export interface Extras {
  readonly routes?: Layer.Layer<never, never, RouteNeeds> | undefined
  /** A fake TMDB that outlives the app (default: one of its own). */
  readonly fake?: FakeTmdbServer | undefined
  /** Receives every log line of the app (message and level). */
  readonly logs?: Array<{ readonly level: string; readonly message: string }> | undefined
}

/** The plain HttpRouter flavour. */
export const withRouterApp = <E>(
  store: Layer.Layer<WebSessionStore, E>,
  f: (running: Running) => Promise<void>,
  options: Partial<TmdbWebLoginOptions> = {},
  extras: Extras = {}
) =>
  Effect.runPromise(Effect.scoped(
    Effect.gen(function*() {
      const { app, context, fake, server } = yield* services(store, options, extras.fake)
      const routes = Layer.mergeAll(TmdbWebLogin.router, me, extras.routes ?? Layer.empty)
      yield* serveOver(routes, context, server)
      yield* Effect.promise(() => f({ app, fake, store: Context.get(context, WebSessionStore) }))
    }).pipe(
      extras.logs === undefined ? (self) => self : Effect.provide(Logger.layer([
        Logger.make(({ logLevel, message }) => {
          extras.logs!.push({
            // 0.x's labels: INFO, WARN...
            level: logLevel.toUpperCase(),
            message: Array.isArray(message) ? message.join(" ") : String(message)
          })
        })
      ]))
    )
  ))

export const sessionCount = (fake: FakeTmdbServer) => Effect.runPromise(Effect.map(fake.sessions, (s) => s.length))

/** Serves route layers (`HttpRouter.serve`, no request log, as 0.x's `serveEffect`) over the app's services. */
export const serveOver = <A, B>(
  routes: Layer.Layer<never, never, unknown>,
  context: Context.Context<A>,
  server: Context.Context<B>
) =>
  Layer.build(
    // The routes' needs are the two contexts' services: not told apart by type here.
    HttpRouter.serve(routes, { disableLogger: true, disableListenLog: true }).pipe(
      Layer.provide(Layer.succeedContext(context)),
      Layer.provide(Layer.succeedContext(server))
    ) as Layer.Layer<never>
  )

/** The HttpApi flavour: `api` (the app's HttpApi layer, with the login's group) served over the login's services. */
export const withApiApp = <E>(
  api: Layer.Layer<never, never, unknown>,
  f: (running: Running) => Promise<void>,
  store: Layer.Layer<WebSessionStore, E> = WebSessionStore.layerMemory as Layer.Layer<WebSessionStore, E>
) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const { app, context, fake, server } = yield* services(store, {})
    yield* serveOver(api, context, server)
    yield* Effect.promise(() => f({ app, fake, store: Context.get(context, WebSessionStore) }))
  })))

/** An HttpApi app: the login's group and `GET /api/me` behind `TmdbSignIn`. */
class Me extends HttpApiGroup.make("me")
  .add(HttpApiEndpoint.get("me", "/api/me", { success: Schema.Struct({ username: Schema.String }) }))
  .middleware(TmdbSignIn)
{}
class MeApi extends HttpApi.make("app").add(TmdbAuthGroup).add(Me) {}
export const MeApiLive = HttpApiBuilder.layer(MeApi).pipe(
  Layer.provide([
    layerTmdbAuthHandlers(MeApi),
    HttpApiBuilder.group(
      MeApi,
      "me",
      (handlers) => handlers.handle("me", () => Effect.map(SignedIn, ({ account }) => ({ username: account.username })))
    )
  ]),
  Layer.provide(TmdbSignIn.layer)
)
