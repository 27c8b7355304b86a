/**
 * `effect-tmdb-auth/web`: "Sign in with TMDB" for `effect/http` HttpServer apps.
 *
 * @since 0.5.0
 */
export * from "./TmdbAuthGroup.js"
export * from "./TmdbWebLogin.js"
export * from "./WebSessionStore.js"
/** What `requireSignIn` provides beside `CurrentAccount` and `SignedIn`: the signed-in TMDB session. */
export { UserSession } from "../UserSession.js"
