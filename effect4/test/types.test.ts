/**
 * Type-level contract: each method's error type lists exactly what it can produce. These assertions are checked
 * by `npm run typecheck` (tsc over test/); the runtime test below only keeps vitest from reporting an empty file.
 */
import { describe, expectTypeOf, it } from "@effect/vitest"
import type { Config, Effect, Layer, Scope } from "effect"
import { AuthService, type TmdbClient, TmdbConfig } from "../src/index.js"
import type {
  AccessTokenRequired,
  AuthServiceShape,
  GuestSession,
  InvalidApiKey,
  InvalidCredentials,
  InvalidToken,
  MalformedResponse,
  RateLimited,
  RequestToken,
  RequestTokenV4,
  Session,
  SessionDenied,
  SessionNotFound,
  TmdbError,
  TmdbUnavailable,
  TokenExpired,
  TransportError
} from "../src/index.js"
import { Fault } from "../src/testing/index.js"

type Common = InvalidApiKey | RateLimited | TmdbUnavailable | TmdbError | TransportError | MalformedResponse
type ErrorOf<K extends keyof AuthServiceShape> = AuthServiceShape[K] extends Effect.Effect<unknown, infer E, unknown> ?
  E
  : AuthServiceShape[K] extends (...args: Array<never>) => Effect.Effect<unknown, infer E, unknown> ? E
  : never
type SuccessOf<K extends keyof AuthServiceShape> = AuthServiceShape[K] extends
  Effect.Effect<infer A, unknown, unknown> ? A
  : AuthServiceShape[K] extends (...args: Array<never>) => Effect.Effect<infer A, unknown, unknown> ? A
  : never

describe("error types", () => {
  it("list exactly what each method can produce", () => {
    expectTypeOf<ErrorOf<"validateKey">>().toEqualTypeOf<Common>()
    expectTypeOf<ErrorOf<"createRequestToken">>().toEqualTypeOf<Common>()
    expectTypeOf<ErrorOf<"createGuestSession">>().toEqualTypeOf<Common>()
    expectTypeOf<ErrorOf<"validateWithLogin">>().toEqualTypeOf<Common | InvalidCredentials | TokenExpired>()
    expectTypeOf<ErrorOf<"createSession">>().toEqualTypeOf<Common | TokenExpired | SessionDenied>()
    expectTypeOf<ErrorOf<"createSessionFromV4">>().toEqualTypeOf<Common | InvalidToken>()
    expectTypeOf<ErrorOf<"deleteSession">>().toEqualTypeOf<Common | SessionNotFound>()
    expectTypeOf<ErrorOf<"login">>().toEqualTypeOf<Common | InvalidCredentials | TokenExpired | SessionDenied>()

    expectTypeOf<ErrorOf<"createRequestTokenV4">>().toEqualTypeOf<Common | AccessTokenRequired>()
    expectTypeOf<ErrorOf<"createAccessToken">>().toEqualTypeOf<
      Common | AccessTokenRequired | TokenExpired | SessionDenied | InvalidToken
    >()
    expectTypeOf<ErrorOf<"deleteAccessToken">>().toEqualTypeOf<Common | AccessTokenRequired | InvalidToken>()
    expectTypeOf<ErrorOf<"scopedSession">>().toEqualTypeOf<ErrorOf<"login">>()
    expectTypeOf<ReturnType<AuthServiceShape["scopedSession"]>>().toEqualTypeOf<
      Effect.Effect<Session, ErrorOf<"login">, Scope.Scope>
    >()
    // v3 calls never need the read access token.
    expectTypeOf<AccessTokenRequired>().not.toExtend<ErrorOf<"login">>()

    // createRequestToken cannot fail with InvalidCredentials; deleteSession cannot fail with TokenExpired.
    expectTypeOf<InvalidCredentials>().not.toExtend<ErrorOf<"createRequestToken">>()
    expectTypeOf<TokenExpired>().not.toExtend<ErrorOf<"deleteSession">>()
    expectTypeOf<SessionNotFound>().not.toExtend<ErrorOf<"login">>()
  })

  it("return the documented values", () => {
    expectTypeOf<SuccessOf<"validateKey">>().toEqualTypeOf<void>()
    expectTypeOf<SuccessOf<"createRequestToken">>().toEqualTypeOf<RequestToken>()
    expectTypeOf<SuccessOf<"validateWithLogin">>().toEqualTypeOf<RequestToken>()
    expectTypeOf<SuccessOf<"createSession">>().toEqualTypeOf<Session>()
    expectTypeOf<SuccessOf<"login">>().toEqualTypeOf<Session>()
    expectTypeOf<SuccessOf<"createGuestSession">>().toEqualTypeOf<GuestSession>()
    expectTypeOf<AuthServiceShape["approvalUrl"]>().returns.toEqualTypeOf<string>()
  })

  it("accept secrets as strings or Redacted, and tokens as returned by the method before", () => {
    const check = (auth: AuthServiceShape, token: RequestToken, session: Session) => {
      auth.createSession(token)
      auth.createSession("raw-token")
      auth.deleteSession(session)
      auth.deleteSession("session-id")
      // @ts-expect-error a session id is not a request token: validateWithLogin needs a RequestToken
      auth.validateWithLogin({ username: "u", password: "p", requestToken: "raw" })
      // @ts-expect-error the password is required
      auth.login({ username: "u" })
    }
    expectTypeOf(check).toBeFunction()
  })

  it("keep v3 and v4 request tokens apart, and take optional settings that may be undefined", () => {
    const check = (auth: AuthServiceShape, v3: RequestToken, v4: RequestTokenV4) => {
      // @ts-expect-error a v4 request token does not make a v3 session
      auth.createSession(v4)
      // @ts-expect-error a v3 request token does not make a v4 access token
      auth.createAccessToken(v3)
      TmdbConfig.layer({ accessToken: "t", baseUrl: process.env["TMDB_BASE_URL"], timeout: undefined })
      return [Fault.RateLimited(), Fault.Unavailable(), Fault.Delay({ duration: "1 second" })]
    }
    expectTypeOf(check).returns.toEqualTypeOf<Array<Fault>>()
  })

  it("AuthService.layerLive provides TmdbClient too, for the app's own calls", () => {
    expectTypeOf(AuthService.layerLive).toEqualTypeOf<
      Layer.Layer<AuthService | TmdbClient, Config.ConfigError>
    >()
    expectTypeOf<ErrorOf<"endSession">>().toEqualTypeOf<never>()
  })
})
