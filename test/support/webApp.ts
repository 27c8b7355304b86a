/**
 * The web login's test app over real sockets on 127.0.0.1: a fetch "browser" with a cookie jar, FakeTmdb.serve,
 * AuthService over TmdbHttpClient, a session store and TmdbWebLogin, served as a plain HttpRouter.
 */
import {
  HttpApi,
  HttpApiBuilder,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpRouter,
  HttpServer,
  HttpServerResponse
} from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Effect, Layer, Logger, Schema } from "effect"
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

export const me = HttpRouter.empty.pipe(
  HttpRouter.get("/api/me", Effect.map(CurrentAccount, (a) => HttpServerResponse.unsafeJson({ username: a.username }))),
  TmdbWebLogin.requireSignIn()
)

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
    const address = Context.get(server, HttpServer.HttpServer).address as HttpServer.TcpAddress
    const app = `http://127.0.0.1:${address.port}`
    const context = yield* Layer.build(
      TmdbWebLogin.layer({ publicUrl: app, signingKey: KEY, ...options }).pipe(
        Layer.provideMerge(store),
        Layer.provideMerge(authOver(fake))
      )
    )
    return { app, fake, server, context }
  })

/** What a test adds to the app: its own routes (with TmdbClient, AuthService... provided), a log of its own. */
export interface Extras {
  readonly routes?: HttpRouter.HttpRouter<unknown, TmdbWebLogin | TmdbClient | AuthService> | undefined
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
      const web = Context.get(context, TmdbWebLogin)
      const router = HttpRouter.empty.pipe(
        HttpRouter.concat(web.router),
        HttpRouter.concat(me),
        HttpRouter.concat(extras.routes ?? HttpRouter.empty)
      )
      yield* HttpServer.serveEffect(router).pipe(Effect.provide(context), Effect.provide(server))
      yield* Effect.promise(() => f({ app, fake, store: Context.get(context, WebSessionStore) }))
    }).pipe(
      extras.logs === undefined ? (self) => self : Effect.provide(Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ logLevel, message }) => {
          extras.logs!.push({
            level: logLevel.label,
            message: Array.isArray(message) ? message.join(" ") : String(message)
          })
        })
      ))
    )
  ))

export const sessionCount = (fake: FakeTmdbServer) => Effect.runPromise(Effect.map(fake.sessions, (s) => s.length))

/** The HttpApi flavour: `api` (the app's HttpApi layer, with the login's group) served over the login's services. */
export const withApiApp = <E>(
  api: Layer.Layer<HttpApi.Api, never, TmdbWebLogin | TmdbClient | AuthService>,
  f: (running: Running) => Promise<void>,
  store: Layer.Layer<WebSessionStore, E> = WebSessionStore.layerMemory as Layer.Layer<WebSessionStore, E>
) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const { app, context, fake, server } = yield* services(store, {})
    yield* Layer.build(
      HttpApiBuilder.serve().pipe(
        Layer.provide(api),
        Layer.provide(Layer.succeedContext(context)),
        Layer.provide(Layer.succeedContext(server))
      )
    )
    yield* Effect.promise(() => f({ app, fake, store: Context.get(context, WebSessionStore) }))
  })))

/** An HttpApi app: the login's group and `GET /api/me` behind `TmdbSignIn`. */
class Me extends HttpApiGroup.make("me")
  .add(HttpApiEndpoint.get("me", "/api/me").addSuccess(Schema.Struct({ username: Schema.String })))
  .middleware(TmdbSignIn)
{}
class MeApi extends HttpApi.make("app").add(TmdbAuthGroup).add(Me) {}
export const MeApiLive = HttpApiBuilder.api(MeApi).pipe(
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
