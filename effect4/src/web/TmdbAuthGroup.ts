/**
 * "Sign in with TMDB" for `HttpApi` apps: the login's routes as an `HttpApiGroup`, its handlers, and the `TmdbSignIn`
 * security middleware.
 *
 * @since 0.5.0
 */
import * as Effect from "effect/Effect"
import type * as HttpApi from "effect/http-api/HttpApi"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import * as HttpApiEndpoint from "effect/http-api/HttpApiEndpoint"
import * as HttpApiGroup from "effect/http-api/HttpApiGroup"
import * as HttpApiMiddleware from "effect/http-api/HttpApiMiddleware"
import * as HttpApiSecurity from "effect/http-api/HttpApiSecurity"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { SignedIn, TmdbWebLogin, Unauthorized } from "./TmdbWebLogin.js"
import { SessionStoreUnavailable } from "./WebSessionStore.js"

const OptionalText = Schema.optional(Schema.String)

/**
 * The routes as an `HttpApiGroup` named `tmdbAuth`, under `prefix` (default `/auth/tmdb`; give
 * `TmdbWebLogin.layer` the same prefix).
 *
 * @since 0.5.0
 */
export const makeTmdbAuthGroup = <const Prefix extends `/${string}` = "/auth/tmdb">(
  prefix: Prefix = "/auth/tmdb" as Prefix
) =>
  HttpApiGroup.make("tmdbAuth", { topLevel: false })
    .add(HttpApiEndpoint.get("login", "/login", { query: { returnTo: OptionalText } }))
    .add(
      HttpApiEndpoint.get("callback", "/callback", {
        query: { request_token: OptionalText, approved: OptionalText, denied: OptionalText }
      })
    )
    .add(HttpApiEndpoint.post("logout", "/logout", { query: { everywhere: OptionalText } }))
    .prefix(prefix)

/**
 * The group at the default prefix, `/auth/tmdb`.
 *
 * @since 0.5.0
 */
export const TmdbAuthGroup = makeTmdbAuthGroup()

/**
 * The group's type.
 *
 * @since 0.5.0
 */
export type TmdbAuthGroup = typeof TmdbAuthGroup

/**
 * The handlers of the `tmdbAuth` group for an `HttpApi` that includes it.
 *
 * @since 0.5.0
 */
export const layerTmdbAuthHandlers = <ApiId extends string, Groups extends HttpApiGroup.Constraint>(
  api: HttpApi.HttpApi<ApiId, Groups | TmdbAuthGroup>
): Layer.Layer<HttpApiGroup.Service<ApiId, "tmdbAuth">, never, TmdbWebLogin> =>
  HttpApiBuilder.group(
    api as unknown as HttpApi.HttpApi<ApiId, TmdbAuthGroup>,
    "tmdbAuth",
    (handlers) =>
      Effect.map(TmdbWebLogin, (web) =>
        handlers
          .handle("login", ({ query, request }) => web.login(query.returnTo, request))
          .handle("callback", ({ request }) => web.callback(request))
          .handle("logout", ({ request }) => web.logout(request)))
  ) as unknown as Layer.Layer<HttpApiGroup.Service<ApiId, "tmdbAuth">, never, TmdbWebLogin>

const signInFirst = () => new Unauthorized({ message: "Sign in with TMDB first." })

/**
 * The HttpApi middleware: security by the session cookie; provides `SignedIn` (session and account); a request
 * without a valid session fails with `Unauthorized` (401 JSON); one the session store cannot answer for, with
 * `SessionStoreUnavailable` (503 JSON). A handler's `SessionNotFound` is not seen here: wrap
 * handlers that call TMDB with the session in `TmdbWebLogin.orUnauthorized`.
 *
 * @since 0.5.0
 */
export class TmdbSignIn extends HttpApiMiddleware.Service<TmdbSignIn, { provides: SignedIn }>()(
  "effect-tmdb-auth/web/TmdbSignIn",
  {
    /** 401 without a valid session; 503 when the session store cannot be read. */
    error: [Unauthorized, SessionStoreUnavailable],
    security: {
      /**
       * The session cookie as OpenAPI shows it, `__Host-tmdb_session` (https). The request's cookie is read by the
       * same code as `requireSignIn`: the plain name over http, the app's `cookieName`.
       */
      cookie: HttpApiSecurity.apiKey({ in: "cookie", key: "__Host-tmdb_session" })
    }
  }
) {
  /** Its implementation, over the app's `TmdbWebLogin`. */
  static readonly layer: Layer.Layer<TmdbSignIn, never, TmdbWebLogin> = Layer.effect(
    TmdbSignIn,
    Effect.map(TmdbWebLogin, (web) =>
      TmdbSignIn.of({
        cookie: (httpEffect) =>
          Effect.gen(function*() {
            const signedIn = yield* web.current(yield* HttpServerRequest.HttpServerRequest)
            if (Option.isNone(signedIn)) return yield* Effect.fail(signInFirst())
            return yield* Effect.provideService(httpEffect, SignedIn, signedIn.value)
          })
      }))
  )
}
