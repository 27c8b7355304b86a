/**
 * effect-tmdb-auth: TMDB's authentication API as an Effect service.
 *
 * @since 0.1.0
 */
export * from "./AccessToken.js"
export * from "./Account.js"
export * from "./Approval.js"
export * from "./AuthService.js"
export * from "./RequestToken.js"
export * from "./RetryPolicy.js"
export * from "./Session.js"
export * from "./TmdbClient.js"
export * from "./TmdbConfig.js"
export * from "./TmdbError.js"
export * as TmdbHttpClient from "./TmdbHttpClient.js"
export * from "./TmdbLimiter.js"
export * from "./UserSession.js"
