// docs/effect4.md shows this file from its second line, word for word (test/docs.test.ts); tsc type-checks it.
import { Effect, Layer, Schema } from "effect"
import { AuthService, TmdbClient } from "effect-tmdb-auth"
import {
  layerTmdbAuthHandlers,
  SignedIn,
  TmdbAuthGroup,
  TmdbSignIn,
  TmdbWebLogin,
  WebSessionStore
} from "effect-tmdb-auth/web"
import { HttpMiddleware, HttpRouter } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"

const Favorite = Schema.Struct({ id: Schema.Number, title: Schema.String })
const Favorites = Schema.Struct({ results: Schema.Array(Favorite) })

// Your routes: the middleware answers 401 JSON without a session, else provides SignedIn (session and account).
class Me extends HttpApiGroup.make("me")
  .add(HttpApiEndpoint.get("me", "/api/me", { success: Schema.Struct({ username: Schema.String }) }))
  .add(HttpApiEndpoint.get("favorites", "/api/favorites", { success: Schema.Array(Favorite) }))
  .middleware(TmdbSignIn)
{}
class Api extends HttpApi.make("app").add(TmdbAuthGroup).add(Me) {}

const MeLive = HttpApiBuilder.group(Api, "me", (handlers) =>
  handlers
    .handle("me", () => Effect.map(SignedIn, ({ account }) => ({ username: account.username })))
    // Your own TMDB call with the signed-in session, through the same TmdbClient (admission, retries, errors).
    .handle("favorites", () =>
      Effect.gen(function*() {
        const { account, session } = yield* SignedIn
        const tmdb = yield* TmdbClient
        const page = yield* tmdb.request({
          method: "GET",
          path: `/3/account/${account.id}/favorite/movies`,
          session,
          response: Favorites
        })
        return page.results
      }).pipe(
        // The session revoked at TMDB: forgotten here, and 401 (HttpApi middlewares never see handler errors).
        TmdbWebLogin.orUnauthorized,
        // Anything else TMDB can answer (rate limited, unavailable) is yours to map; here, a 500.
        Effect.catchIf((error) => error._tag !== "Unauthorized", Effect.die)
      )))

// The API's routes, as a layer of the app's HttpRouter.
export const ApiLive = HttpApiBuilder.layer(Api).pipe(
  Layer.provide([layerTmdbAuthHandlers(Api), MeLive]),
  Layer.provide(TmdbSignIn.layer)
)

// Serve it with the security headers on every page, and the callback (its URL carries the request token) untraced;
// the login's services beside it, for the routes and the handlers:
export const Server = HttpRouter.serve(ApiLive, { middleware: TmdbWebLogin.securityHeaders }).pipe(
  Layer.provide(Layer.succeed(
    HttpMiddleware.TracerDisabledWhen,
    (request) => request.url.startsWith("/auth/tmdb/callback")
  )),
  Layer.provide(TmdbWebLogin.layerConfig()), // TMDB_WEB_PUBLIC_URL, TMDB_WEB_SIGNING_KEY
  Layer.provide(WebSessionStore.layerMemory),
  Layer.provide(AuthService.layerLive) // AuthService and, for your own calls, TmdbClient
)
// Server.pipe(Layer.provide(NodeHttpServer.layer(createServer, { port: 3000 })), Layer.launch, NodeRuntime.runMain)
