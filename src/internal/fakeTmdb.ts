/**
 * The engine of FakeTmdb on Effect 3: core/fake's engine (TMDB's authentication behaviour over in-memory state,
 * independent of how requests arrive and of Effect) with Effect's `Clock` for time, core's seeded generator for the random
 * faults, `Effect.sleep` for delays, the app's own routes run as effects, and the fake's ids and times shown as
 * `Redacted` and `DateTime`.
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { failure, type IncomingRequest } from "../../core/fake/answers.js"
import {
  type CustomState,
  FakeEngine,
  type FakeResponse,
  type FakeRouteRequest,
  type LoggedRequest as CoreLoggedRequest,
  type Outcome,
  type RouteCount,
  type Step
} from "../../core/fake/engine.js"
import type { FaultRates, FaultSpec, Route } from "../../core/fake/faults.js"
import {
  type ControlRefusal,
  defaults,
  type FakeUser,
  GUEST_SESSION_LIFETIME_MILLIS,
  V3_TOKEN_LIFETIME_MILLIS,
  V4_TOKEN_LIFETIME_MILLIS
} from "../../core/fake/state.js"
import { seededRandom } from "../../core/seededRandom.js"

export type { ControlRefusal, FakeResponse, FakeRouteRequest, FakeUser, IncomingRequest, Outcome, Route, RouteCount }
export { defaults }

/** A fault the fake injects in place of (or around) a normal answer. */
export type Fault = Data.TaggedEnum<{
  /** HTTP 429, code 25, with `Retry-After` in seconds (default 1). Not processed. */
  RateLimited: { readonly retryAfter?: number }
  /** HTTP 503, code 9 (default) or 46. Not processed. */
  Unavailable: { readonly code?: 9 | 46 }
  /** HTTP 500, code 11. Not processed. */
  InternalError: Record<never, never>
  /** The connection is dropped before any answer. Not processed. */
  ConnectionReset: Record<never, never>
  /** Processed normally, but the JSON body is cut in half. */
  Truncated: Record<never, never>
  /** Processed normally after a delay (Effect time). */
  Delay: { readonly duration: Duration.DurationInput }
}>

const tagged = Data.taggedEnum<Fault>()

/** Constructors of {@link Fault}; those whose fields are all optional can be called without an argument. */
export const Fault = {
  /** HTTP 429, code 25, `Retry-After: retryAfter` seconds (default 1). Not processed. */
  RateLimited: (options: { readonly retryAfter?: number } = {}): Fault => tagged.RateLimited(options),
  /** HTTP 503, code 9 (default) or 46. Not processed. */
  Unavailable: (options: { readonly code?: 9 | 46 } = {}): Fault => tagged.Unavailable(options),
  /** HTTP 500, code 11. Not processed. */
  InternalError: (): Fault => tagged.InternalError(),
  /** The connection is dropped before any answer. Not processed. */
  ConnectionReset: (): Fault => tagged.ConnectionReset(),
  /** Processed normally, but the JSON body is cut in half. */
  Truncated: (): Fault => tagged.Truncated(),
  /** Processed normally after `duration` (Effect time: moves with TestClock in memory). */
  Delay: (options: { readonly duration: Duration.DurationInput }): Fault => tagged.Delay(options)
}

/** Random faults: for each request, each kind with its rate (0 to 1), drawn from a seeded generator. */
export interface RandomFaults {
  readonly seed?: number
  readonly rateLimited?: number
  readonly unavailable?: number
  readonly connectionReset?: number
  readonly truncated?: number
  readonly delayed?: number
  /** How long a random `Delay` lasts. Default 2 seconds. */
  readonly delay?: Duration.DurationInput
}

/** Options of `FakeTmdb.layer` and `FakeTmdb.serve`: accounts, accepted credentials, rate limit, faults. */
export interface FakeTmdbOptions {
  /** Accepted API Read Access Tokens (Bearer). Default `[FakeTmdb.defaults.accessToken]`. */
  readonly accessTokens?: ReadonlyArray<string>
  /** Accepted v3 API keys (`api_key`). Default `["fake-api-key"]`. */
  readonly apiKeys?: ReadonlyArray<string>
  /** Accounts. Default one user, `demo` / `demo-password`. */
  readonly users?: ReadonlyArray<FakeUser>
  /** v4 user access tokens that `convert/4` accepts, each for a username. */
  readonly v4AccessTokens?: ReadonlyArray<{ readonly accessToken: string; readonly username: string }>
  /**
   * At most `requests` answered per sliding `window` (default 1 second); over it: 429, code 25, `Retry-After`.
   * Default: no limit; `requests: 0` is no limit too.
   */
  readonly rateLimit?: { readonly requests: number; readonly window?: Duration.DurationInput }
  /** Random faults; scripted ones are added with `fail`. */
  readonly faults?: RandomFaults
  /** How long a v3 request token lives. Default 60 minutes, as on TMDB. */
  readonly requestTokenLifetime?: Duration.DurationInput
  /**
   * The v3 approval page asks, as TMDB's does: Approve and Deny buttons (and which user), which redirect to
   * `redirect_to` with `approved=true` or `denied=true`. Default false: the page approves at once, as the first user.
   */
  readonly interactiveApproval?: boolean
  /** How long a guest session lives. Default 24 hours, as on TMDB. */
  readonly guestSessionLifetime?: Duration.DurationInput
  /**
   * Routes of the app's own, beside TMDB's authentication routes, keyed `"METHOD /path"`; a path segment `:name`
   * matches any one segment (`"GET /3/account/:account_id/watchlist/movies"`). They take precedence over the
   * fake's routes and go through the same credential check, rate limit, faults and request log. The handler is
   * given the request and the fake's state (which session belongs to which user, the fake's clock).
   */
  readonly routes?: Readonly<Record<string, FakeRouteHandler>>
  /** The request log keeps at least this many of the latest requests (and at most twice as many). Default 10,000. */
  readonly maxLoggedRequests?: number
}

/** The fake's state as a route of the app's own sees it. */
export interface FakeState {
  /** The fake's clock (Effect's `Clock`, plus what the control API's `clock` moved). */
  readonly now: DateTime.Utc
  /** The user a session id belongs to, or undefined when the fake does not know it (deleted, never created). */
  readonly session: (
    sessionId: string | null | undefined
  ) => { readonly username: string; readonly accountId: number } | undefined
  /** Whether a guest session id is known and not expired. */
  readonly guestSession: (guestSessionId: string | null | undefined) => boolean
  /** An account, by username. */
  readonly user: (username: string) => FakeUser | undefined
}

/** A route of the app's own. */
export type FakeRouteHandler = (
  request: FakeRouteRequest,
  state: FakeState
) => FakeResponse | Effect.Effect<FakeResponse>

/** What the fake received, without any secret value. */
export interface LoggedRequest {
  readonly method: string
  readonly path: string
  /** Which application credential came with it. */
  readonly credential: "bearer" | "api_key" | "none"
  /** The keys of the JSON body, never the values. */
  readonly bodyKeys: ReadonlyArray<string>
  readonly status: number
  readonly statusCode: number | undefined
  readonly at: DateTime.Utc
}

/** A user session the fake has not deleted: its id (Redacted), user and creation time. */
export interface LiveSession {
  readonly sessionId: Redacted.Redacted<string>
  readonly username: string
  readonly createdAt: DateTime.Utc
}

/** A guest session whose `expires_at` is still ahead. */
export interface LiveGuestSession {
  readonly guestSessionId: Redacted.Redacted<string>
  readonly expiresAt: DateTime.Utc
}

/** TMDB's error answer for a status code (its HTTP status, `status_code` and `status_message`). */
export const tmdbFailure = (statusCode: number): FakeResponse => {
  const answer = failure(statusCode)
  return { status: answer.status, body: answer.body }
}

export const V3_TOKEN_LIFETIME = Duration.millis(V3_TOKEN_LIFETIME_MILLIS)
export const V4_TOKEN_LIFETIME = Duration.millis(V4_TOKEN_LIFETIME_MILLIS)
export const GUEST_SESSION_LIFETIME = Duration.millis(GUEST_SESSION_LIFETIME_MILLIS)

const toFaultSpec = (fault: Fault): FaultSpec =>
  fault._tag === "Delay" ? { _tag: "Delay", millis: Duration.toMillis(fault.duration) } : fault

const toFaultRates = (rates: RandomFaults | undefined): FaultRates | undefined =>
  rates === undefined ? undefined : {
    ...rates,
    ...(rates.delay === undefined ? {} : { delayMillis: Duration.toMillis(rates.delay) })
  }

const toLogged = (entry: CoreLoggedRequest): LoggedRequest => ({ ...entry, at: DateTime.unsafeMake(entry.at) })

/** The simulator. One per FakeTmdb; both faces drive `handle`. */
export class Engine {
  private readonly core: FakeEngine<FakeRouteHandler>

  constructor(readonly options: FakeTmdbOptions) {
    this.core = new FakeEngine<FakeRouteHandler>({
      accessTokens: options.accessTokens,
      apiKeys: options.apiKeys,
      users: options.users,
      v4AccessTokens: options.v4AccessTokens,
      rateLimit: options.rateLimit === undefined ? undefined : {
        requests: options.rateLimit.requests,
        windowMillis: Duration.toMillis(options.rateLimit.window ?? Duration.seconds(1))
      },
      faults: toFaultRates(options.faults),
      requestTokenLifetimeMillis: options.requestTokenLifetime === undefined
        ? undefined
        : Duration.toMillis(options.requestTokenLifetime),
      guestSessionLifetimeMillis: options.guestSessionLifetime === undefined
        ? undefined
        : Duration.toMillis(options.guestSessionLifetime),
      interactiveApproval: options.interactiveApproval,
      routes: options.routes,
      maxLoggedRequests: options.maxLoggedRequests,
      // Core's seeded generator (Effect 3's `Random` draw for draw): a seed gives the same faults on both lines.
      random: seededRandom
    })
  }

  /** Told of every request the fake answers (the request log's entry): `fake-server --verbose`. */
  set onRequest(listener: ((request: LoggedRequest) => void) | undefined) {
    this.core.onRequest = listener === undefined ? undefined : (entry) => listener(toLogged(entry))
  }

  // Control -------------------------------------------------------------------------------------------------

  /** Back to the state the fake started in: its options' users and v4 tokens; no tokens, sessions, log, faults. */
  reset(): void {
    this.core.reset()
  }

  /** Moves the fake's clock forward (token and guest expiry, rate windows); returns the new offset in ms. */
  advanceClock(duration: Duration.Duration): number {
    return this.core.advanceClock(Duration.toMillis(duration))
  }

  /** The fake's time given Effect's clock. */
  timeAt(clockMillis: number): number {
    return this.core.timeAt(clockMillis)
  }

  /** Replaces the random fault mix (undefined: none), with a fresh generator from its seed. */
  setRandomFaults(rates: RandomFaults | undefined): void {
    this.core.setRandomFaults(toFaultRates(rates))
  }

  /**
   * What a user does on TMDB's website: approve a request token (v3 or v4), as `username` (default the first
   * user). Refused for an unknown token or user, or a token already denied or used.
   */
  approve(token: string, username?: string): ControlRefusal | undefined {
    return this.core.state.approve(token, username)
  }

  /** What a user does on TMDB's website: deny a request token; it can no longer create a session. */
  deny(token: string): ControlRefusal | undefined {
    return this.core.state.deny(token)
  }

  hasUser(username: string): boolean {
    return this.core.state.hasUser(username)
  }

  /** What the control API's `clock` added to Effect's clock, in milliseconds. */
  get clockOffsetMillis(): number {
    return this.core.clockOffsetMillis
  }

  /** Drops every scripted fault and the random mix. */
  clearFaults(): void {
    this.core.clearFaults()
  }

  addUser(user: FakeUser): void {
    this.core.state.addUser(user)
  }

  addV4AccessToken(accessToken: string, username: string): void {
    this.core.state.addV4AccessToken(accessToken, username)
  }

  /** The next answers to `route` (`"METHOD /path"`, or `"*"` for any) are these faults, in order. */
  fail(route: Route, faults: ReadonlyArray<Fault>): void {
    this.core.fail(route, faults.map(toFaultSpec))
  }

  get requests(): ReadonlyArray<LoggedRequest> {
    return this.core.requests.map(toLogged)
  }

  get counters(): ReadonlyArray<RouteCount> {
    return this.core.counters
  }

  liveSessions(): ReadonlyArray<LiveSession> {
    return this.core.state.liveSessions().map((s) => ({
      sessionId: Redacted.make(s.sessionId),
      username: s.username,
      createdAt: DateTime.unsafeMake(s.createdAt)
    }))
  }

  /** v4 user access tokens that work (configured or issued, not logged out): account and user. */
  liveAccessTokens(): ReadonlyArray<{ readonly username: string; readonly accountId: string }> {
    return this.core.state.liveAccessTokens()
  }

  /** Guest sessions alive at `clockMillis` (Effect's clock; the fake adds its offset). */
  liveGuestSessions(clockMillis: number): ReadonlyArray<LiveGuestSession> {
    return this.core.state.liveGuestSessions(this.core.timeAt(clockMillis)).map((g) => ({
      guestSessionId: Redacted.make(g.guestSessionId),
      expiresAt: DateTime.unsafeMake(g.expiresAt)
    }))
  }

  /** The request tokens the fake holds (the bound on a long-running fake is tested through it). */
  get requestTokens(): ReadonlyMap<string, unknown> {
    return (this.core.state as unknown as { readonly requestTokens: ReadonlyMap<string, unknown> }).requestTokens
  }

  // Requests ------------------------------------------------------------------------------------------------

  handle(request: IncomingRequest): Effect.Effect<Outcome> {
    return Effect.flatMap(Clock.currentTimeMillis, (clockMillis) => this.run(this.core.handle(request, clockMillis)))
  }

  /** A step of the core engine, carried out: a delay slept on Effect's clock, a route of the app's own run. */
  private run(step: Step<FakeRouteHandler>): Effect.Effect<Outcome> {
    switch (step._tag) {
      case "Answer":
        return Effect.succeed(step.outcome)
      case "Delay":
        return Effect.zipRight(
          Effect.sleep(step.millis),
          Effect.flatMap(Clock.currentTimeMillis, (clockMillis) => this.run(step.resume(clockMillis)))
        )
      case "Custom":
        return Effect.suspend(() => {
          const response = step.handler(step.request, stateOf(step.state))
          return Effect.isEffect(response) ? response : Effect.succeed(response)
        }).pipe(Effect.map(step.resume))
    }
  }
}

/** The fake's state as a route of the app's own sees it, its time a `DateTime`. */
const stateOf = (state: CustomState): FakeState => ({
  now: DateTime.unsafeMake(state.nowMillis),
  session: state.session,
  guestSession: state.guestSession,
  user: state.user
})
