/**
 * "A logged-in session" and "a guest session" as services, for the code that needs one: rating, watchlists, lists.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { AccessToken } from "./AccessToken.js"
import type { LoginOptions } from "./AuthService.js"
import { AuthService } from "./AuthService.js"
import { releaseQuietly } from "./internal/release.js"
import type { GuestSession, Session } from "./Session.js"
import type { Secret } from "./TmdbConfig.js"
import type { InvalidCredentials, InvalidToken, RequestError, SessionDenied, TokenExpired } from "./TmdbError.js"

/**
 * The current user's TMDB session. Downstream services depend on it and receive it from a layer; the layers log in
 * when built and delete the session when released.
 *
 * @example
 * ```ts
 * class Ratings extends Context.Service<Ratings>()("Ratings", {
 *   make: Effect.gen(function*() {
 *     const session = yield* UserSession
 *     return { rate: (movieId: number, value: number) => Effect.succeed({ movieId, value, session }) }
 *   })
 * }) {}
 *
 * const App = Layer.effect(Ratings, Ratings.make).pipe(Layer.provide(UserSession.layer({ username, password })))
 * ```
 * @since 0.1.0
 */
export class UserSession extends Context.Service<UserSession, Session>()("effect-tmdb-auth/UserSession") {
  /** Logs in with username and password when built; deletes the session when released. */
  static layer(
    credentials: LoginOptions
  ): Layer.Layer<UserSession, RequestError | InvalidCredentials | TokenExpired | SessionDenied, AuthService> {
    return Layer.effect(UserSession, AuthService.scopedSession(credentials))
  }

  /**
   * A session converted from a v4 user access token (`createSessionFromV4`) when built; deleted when released.
   * The access token itself stays valid.
   */
  static layerFromV4(
    accessToken: AccessToken | Secret
  ): Layer.Layer<UserSession, RequestError | InvalidToken, AuthService> {
    return Layer.effect(
      UserSession,
      Effect.flatMap(AuthService, (auth) =>
        Effect.acquireRelease(
          auth.createSessionFromV4(accessToken),
          (session) => auth.deleteSession(session).pipe(releaseQuietly("session"))
        ))
    )
  }
}

/**
 * A guest session, for code that rates without an account. TMDB has no endpoint to delete guest sessions: it
 * deletes them itself when unused for 24 hours.
 *
 * @since 0.1.0
 */
export class UserGuestSession
  extends Context.Service<UserGuestSession, GuestSession>()("effect-tmdb-auth/UserGuestSession")
{
  /** Creates a guest session when built. */
  static readonly layer: Layer.Layer<UserGuestSession, RequestError, AuthService> = Layer.effect(
    UserGuestSession,
    Effect.flatMap(AuthService, (auth) => auth.createGuestSession)
  )
}
