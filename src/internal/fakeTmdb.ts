/**
 * The engine of FakeTmdb: TMDB's authentication behaviour over in-memory state, independent of how requests
 * arrive (in-memory HttpClient or a real HTTP server). Time comes from the caller's `Clock`.
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import { escapeHtml } from "./html.js"
import { formatTmdbDate } from "./wire.js"

/** A user account of the fake. */
export interface FakeUser {
  readonly username: string
  readonly password: string
  /** `disabled` answers code 31, `unverified` code 32. Default `active`. */
  readonly status?: "active" | "disabled" | "unverified"
  /** The account's display name (`GET /3/account`'s `name`). Default empty, as on TMDB when none is set. */
  readonly name?: string
}

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

/** A request to a route of the app's own (see {@link FakeTmdbOptions.routes}). */
export interface FakeRouteRequest {
  readonly method: string
  /** The path as received, e.g. `/3/account/1000/watchlist/movies`. */
  readonly path: string
  /** The values of the route's `:name` segments. */
  readonly params: Readonly<Record<string, string>>
  readonly query: URLSearchParams
  /** The JSON body, or undefined without one. (A body that is not a JSON object is answered 400, code 47.) */
  readonly body: Readonly<Record<string, unknown>> | undefined
  readonly headers: Readonly<Record<string, string | undefined>>
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

/** What a route of the app's own answers: a status (default 200), a JSON body, extra headers. */
export interface FakeResponse {
  readonly status?: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>>
}

/** A route of the app's own. */
export type FakeRouteHandler = (
  request: FakeRouteRequest,
  state: FakeState
) => FakeResponse | Effect.Effect<FakeResponse>

export const defaults = {
  /** JWT-shaped, like TMDB's read access tokens, so that clients which sniff the format send it as Bearer. */
  accessToken:
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlLXRtZGIiLCJzY29wZXMiOlsiYXBpX3JlYWQiXSwidmVyc2lvbiI6MX0.ZmFrZS1zaWduYXR1cmU",
  apiKey: "fake-api-key",
  user: { username: "demo", password: "demo-password" } as FakeUser
} as const

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

/** How many answers a route gave with one HTTP status (0: connection reset). */
export interface RouteCount {
  readonly route: string
  readonly status: number
  readonly count: number
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

export interface IncomingRequest {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: string
}

/** How the fake answers: a response, or a dropped connection. */
export type Outcome =
  | {
    readonly _tag: "Respond"
    readonly status: number
    readonly headers: Readonly<Record<string, string>>
    readonly body: string
  }
  | { readonly _tag: "Reset" }

const messages: Record<number, string> = {
  1: "Success.",
  3: "Authentication failed: You do not have permissions to access the service.",
  7: "Invalid API key: You must be granted a valid key.",
  9: "Service offline: This service is temporarily offline, try again later.",
  11: "Internal error: Something went wrong, contact TMDB.",
  13: "The item/record was deleted successfully.",
  17: "Session denied.",
  25: "Your request count (#) is over the allowed limit of (40).",
  26: "You must provide a username and password.",
  30: "Invalid username and/or password: You did not provide a valid login.",
  31: "Account disabled: Your account is no longer active. Contact TMDB if this is an error.",
  32: "Email not verified: Your email address has not been verified.",
  33: "Invalid request token: The request token is either expired or invalid.",
  34: "The resource you requested could not be found.",
  35: "Invalid token.",
  37: "The requested session could not be found.",
  46: "API maintenance: The API is undergoing maintenance. Try again later.",
  41: "This request token hasn't been approved by the user.",
  47: "The input is not valid."
}

const httpStatusOf: Record<number, number> = {
  3: 401,
  7: 401,
  9: 503,
  11: 500,
  17: 401,
  25: 429,
  26: 400,
  30: 401,
  31: 401,
  32: 401,
  33: 401,
  34: 404,
  35: 401,
  37: 404,
  41: 422,
  46: 503,
  47: 400
}

/** TMDB's error answer for a status code (its HTTP status, `status_code` and `status_message`). */
export const tmdbFailure = (statusCode: number): FakeResponse => {
  const answer = failure(statusCode)
  return { status: answer.status, body: answer.body }
}

class Answer {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Readonly<Record<string, string>> = {}
  ) {}
}

const success = (body: Record<string, unknown> = {}) => new Answer(200, { success: true, ...body })

const failure = (code: number, headers?: Record<string, string>) =>
  new Answer(httpStatusOf[code] ?? 400, {
    success: false,
    status_code: code,
    status_message: messages[code] ?? "Failed."
  }, headers)

/** Unpredictable ids, like TMDB's (40 hex characters for tokens and sessions, 32 for guest sessions). */
const hex = (() => {
  // One call to the system's generator per 4 KiB of ids instead of one per id; Web Crypto, so the fake also runs in
  // browsers (Node 20 has it as a global too).
  const pool = new Uint8Array(4096)
  let offset = pool.length
  const digits = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"))
  return (length: number): string => {
    const bytes = length / 2
    if (offset + bytes > pool.length) {
      globalThis.crypto.getRandomValues(pool)
      offset = 0
    }
    let text = ""
    for (let i = offset; i < offset + bytes; i++) text += digits[pool[i]!]
    offset += bytes
    return text
  }
})()

/** base64url of a UTF-8 string, without Node's Buffer. */
const base64url = (text: string): string =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text))).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    ""
  )

interface RequestTokenState {
  readonly version: 3 | 4
  readonly expiresAt: number
  /** v4: where the approval page sends the browser. */
  readonly redirectTo: string | undefined
  approvedBy: string | undefined
  denied: boolean
  used: boolean
}

export const V3_TOKEN_LIFETIME = Duration.minutes(60)
export const V4_TOKEN_LIFETIME = Duration.minutes(15)
export const GUEST_SESSION_LIFETIME = Duration.hours(24)

export type Route = string

/** A route of the app's own, compiled: `:name` segments match any one segment. */
interface CustomRoute {
  readonly method: string
  readonly segments: ReadonlyArray<string>
  readonly handler: FakeRouteHandler
}

const compileRoutes = (routes: Readonly<Record<string, FakeRouteHandler>>): ReadonlyArray<CustomRoute> =>
  Object.entries(routes).map(([key, handler]) => {
    const match = /^([A-Z]+) (\/\S*)$/.exec(key)
    if (match === null) {
      throw new TypeError(
        `FakeTmdb routes: ${
          JSON.stringify(key)
        } is not "METHOD /path" (for example "GET /3/account/:account_id/watchlist/movies")`
      )
    }
    return { method: match[1]!, segments: match[2]!.replace(/\/+$/, "").split("/"), handler }
  })

const matchRoute = (
  routes: ReadonlyArray<CustomRoute>,
  method: string,
  path: string
): { readonly route: CustomRoute; readonly params: Record<string, string> } | undefined => {
  const segments = path.split("/")
  for (const route of routes) {
    if (route.method !== method || route.segments.length !== segments.length) continue
    const params: Record<string, string> = {}
    let matched = true
    for (let i = 0; i < segments.length && matched; i++) {
      const pattern = route.segments[i]!
      if (pattern.startsWith(":") && segments[i] !== "") params[pattern.slice(1)] = decodeURIComponent(segments[i]!)
      else matched = pattern === segments[i]
    }
    if (matched) return { route, params }
  }
  return undefined
}

/** Why a control of the fake refused: an unknown request token or user, or a token that cannot change any more. */
export type ControlRefusal = "UnknownRequestToken" | "UnknownUser" | "AlreadyDecided"

/** The simulator. One per FakeTmdb; both faces drive `handle`. */
export class Engine {
  private readonly accessTokens: Set<string>
  private readonly apiKeys: Set<string>
  private readonly customRoutes: ReadonlyArray<CustomRoute>
  private users = new Map<string, FakeUser>()
  /** v4 user access tokens (configured or issued) -> username. */
  private v4Tokens = new Map<string, string>()
  private accountIds = new Map<string, string>()
  private accountNumbers = new Map<string, number>()
  private requestTokens = new Map<string, RequestTokenState>()
  private sessions = new Map<string, { readonly username: string; readonly createdAt: number }>()
  private guests = new Map<string, number>()
  private sweepAt = 1024
  private scripted = new Map<Route, Array<Fault>>()
  private window: Array<number> = []
  private log: Array<Omit<LoggedRequest, "at"> & { readonly at: number }> = []
  private counts = new Map<string, number>()
  private randomFaults: RandomFaults | undefined
  private chaos: Random.Random
  /** What the control API's `clock` added to Effect's `Clock`, in milliseconds. */
  private clockOffset = 0
  /** Told of every request the fake answers (the request log's entry): `fake-server --verbose`. */
  onRequest: ((request: LoggedRequest) => void) | undefined = undefined

  constructor(readonly options: FakeTmdbOptions) {
    this.accessTokens = new Set(options.accessTokens ?? [defaults.accessToken])
    this.apiKeys = new Set(options.apiKeys ?? [defaults.apiKey])
    this.customRoutes = compileRoutes(options.routes ?? {})
    this.randomFaults = options.faults
    this.chaos = Random.make(options.faults?.seed ?? 42)
    this.reset()
  }

  // Control -------------------------------------------------------------------------------------------------

  /** Back to the state the fake started in: its options' users and v4 tokens; no tokens, sessions, log, faults. */
  reset(): void {
    this.users = new Map((this.options.users ?? [defaults.user]).map((user) => [user.username, user]))
    this.v4Tokens = new Map((this.options.v4AccessTokens ?? []).map((t) => [t.accessToken, t.username]))
    this.accountIds = new Map()
    this.accountNumbers = new Map()
    this.requestTokens = new Map()
    this.sessions = new Map()
    this.guests = new Map()
    this.sweepAt = 1024
    this.scripted = new Map()
    this.window = []
    this.log = []
    this.counts = new Map()
    this.setRandomFaults(this.options.faults)
    this.clockOffset = 0
  }

  /** Moves the fake's clock forward (token and guest expiry, rate windows); returns the new offset in ms. */
  advanceClock(duration: Duration.Duration): number {
    this.clockOffset += Duration.toMillis(duration)
    return this.clockOffset
  }

  /** The fake's time given Effect's clock. */
  timeAt(clockMillis: number): number {
    return clockMillis + this.clockOffset
  }

  /** Replaces the random fault mix (undefined: none), with a fresh generator from its seed. */
  setRandomFaults(rates: RandomFaults | undefined): void {
    this.randomFaults = rates
    this.chaos = Random.make(rates?.seed ?? 42)
  }

  /**
   * What a user does on TMDB's website: approve a request token (v3 or v4), as `username` (default the first
   * user). Refused for an unknown token or user, or a token already denied or used.
   */
  approve(token: string, username?: string): ControlRefusal | undefined {
    const state = this.requestTokens.get(token)
    if (state === undefined) return "UnknownRequestToken"
    if (state.denied || state.used) return "AlreadyDecided"
    const user = username ?? this.users.keys().next().value ?? defaults.user.username
    if (username !== undefined && !this.users.has(username)) return "UnknownUser"
    state.approvedBy = user
    return undefined
  }

  /** What a user does on TMDB's website: deny a request token; it can no longer create a session. */
  deny(token: string): ControlRefusal | undefined {
    const state = this.requestTokens.get(token)
    if (state === undefined) return "UnknownRequestToken"
    if (state.used) return "AlreadyDecided"
    state.denied = true
    state.approvedBy = undefined
    return undefined
  }

  hasUser(username: string): boolean {
    return this.users.has(username)
  }

  /** What the control API's `clock` added to Effect's clock, in milliseconds. */
  get clockOffsetMillis(): number {
    return this.clockOffset
  }

  /** Drops every scripted fault and the random mix. */
  clearFaults(): void {
    this.scripted = new Map()
    this.setRandomFaults(undefined)
  }

  addUser(user: FakeUser): void {
    this.users.set(user.username, user)
  }

  addV4AccessToken(accessToken: string, username: string): void {
    this.v4Tokens.set(accessToken, username)
  }

  /** The next answers to `route` (`"METHOD /path"`, or `"*"` for any) are these faults, in order. */
  fail(route: Route, faults: ReadonlyArray<Fault>): void {
    this.scripted.set(route, [...(this.scripted.get(route) ?? []), ...faults])
  }

  get requests(): ReadonlyArray<LoggedRequest> {
    return this.log.map((entry) => ({ ...entry, at: DateTime.unsafeMake(entry.at) }))
  }

  get counters(): ReadonlyArray<RouteCount> {
    return Array.from(this.counts, ([key, count]) => {
      const at = key.lastIndexOf(" ")
      return { route: key.slice(0, at), status: Number(key.slice(at + 1)), count }
    })
  }

  liveSessions(): ReadonlyArray<LiveSession> {
    return Array.from(this.sessions, ([id, s]) => ({
      sessionId: Redacted.make(id),
      username: s.username,
      createdAt: DateTime.unsafeMake(s.createdAt)
    }))
  }

  /** v4 user access tokens that work (configured or issued, not logged out): account and user. */
  liveAccessTokens(): ReadonlyArray<{ readonly username: string; readonly accountId: string }> {
    return Array.from(this.v4Tokens.values(), (username) => ({ username, accountId: this.accountIdOf(username) }))
  }

  /** Guest sessions alive at `clockMillis` (Effect's clock; the fake adds its offset). */
  liveGuestSessions(clockMillis: number): ReadonlyArray<LiveGuestSession> {
    const now = this.timeAt(clockMillis)
    return Array.from(this.guests).filter(([, expiresAt]) => expiresAt > now).map(([id, expiresAt]) => ({
      guestSessionId: Redacted.make(id),
      expiresAt: DateTime.unsafeMake(expiresAt)
    }))
  }

  // Requests ------------------------------------------------------------------------------------------------

  handle(request: IncomingRequest): Effect.Effect<Outcome> {
    return Effect.suspend(() => {
      const scripted = this.nextScripted(`${request.method} ${request.url.pathname}`)
      if (scripted !== undefined) return this.answerWith(request, scripted)
      if (this.randomFaults === undefined) return this.answerWith(request, undefined)
      return Effect.flatMap(this.randomFault(this.randomFaults), (fault) => this.answerWith(request, fault))
    })
  }

  private answerWith(request: IncomingRequest, fault: Fault | undefined): Effect.Effect<Outcome> {
    const answer = Effect.flatMap(Clock.currentTimeMillis, (clockMillis) => {
      const outcome = this.answer(request, this.timeAt(clockMillis), fault)
      return Effect.isEffect(outcome) ? outcome : Effect.succeed(outcome)
    })
    return fault?._tag === "Delay" ? Effect.zipRight(Effect.sleep(fault.duration), answer) : answer
  }

  private answer(request: IncomingRequest, now: number, fault: Fault | undefined): Outcome | Effect.Effect<Outcome> {
    switch (fault?._tag) {
      case "RateLimited":
        return this.record(request, now, failure(25, { "retry-after": String(fault.retryAfter ?? 1) }))
      case "Unavailable":
        return this.record(request, now, failure(fault.code ?? 9))
      case "InternalError":
        return this.record(request, now, failure(11))
      case "ConnectionReset":
        this.logRequest(request, now, 0, undefined)
        return { _tag: "Reset" }
    }
    const approval = /^\/authenticate\/([^/]+)$/.exec(request.url.pathname)
    if (request.method === "GET" && approval !== null) {
      const token = decodeURIComponent(approval[1]!)
      return this.options.interactiveApproval === true
        ? this.approvalForm(request, now, token)
        : this.approvalPage(request, now, token)
    }
    const decision = /^\/authenticate\/([^/]+)\/(allow|deny)$/.exec(request.url.pathname)
    if (request.method === "POST" && decision !== null && this.options.interactiveApproval === true) {
      return this.approvalDecision(request, now, decodeURIComponent(decision[1]!), decision[2] === "allow")
    }
    if (request.method === "GET" && request.url.pathname === "/auth/access") {
      return this.approvalPageV4(request, now, request.url.searchParams.get("request_token") ?? "")
    }
    const answer = this.rateLimit(now) ?? this.route(request, now)
    return answer instanceof Answer
      ? this.finish(request, now, answer, fault)
      : Effect.map(answer, (answer) => this.finish(request, now, answer, fault))
  }

  private finish(request: IncomingRequest, now: number, answer: Answer, fault: Fault | undefined): Outcome {
    const outcome = this.record(request, now, answer)
    return fault?._tag === "Truncated" && outcome._tag === "Respond"
      ? { ...outcome, body: outcome.body.slice(0, Math.floor(outcome.body.length / 2)) }
      : outcome
  }

  /** TMDB's v4 approval page, `GET /auth/access?request_token=...`: approves, then redirects to `redirect_to`. */
  private approvalPageV4(request: IncomingRequest, now: number, token: string): Outcome {
    const state = this.usableToken(token, now, 4)
    if (state === undefined || this.approve(token) !== undefined) {
      return this.page(request, now, 404, "<h1>Invalid or expired request token</h1>")
    }
    return state.redirectTo === undefined
      ? this.page(request, now, 200, "<h1>Approved</h1><p>You can close this page.</p>")
      : this.page(request, now, 302, "", { location: state.redirectTo })
  }

  private page(
    request: IncomingRequest,
    now: number,
    status: number,
    text: string,
    headers: Record<string, string> = {}
  ): Outcome {
    this.logRequest(request, now, status, undefined)
    return { _tag: "Respond", status, headers: { "content-type": "text/html;charset=utf-8", ...headers }, body: text }
  }

  /**
   * TMDB's approval page, `GET /authenticate/{token}[?redirect_to=...]`: the fake approves at once, as the first
   * user, then redirects like TMDB (adding `request_token` and `approved=true`) or shows a short page.
   */
  private approvalPage(request: IncomingRequest, now: number, token: string): Outcome {
    const approved = this.usableToken(token, now) !== undefined && this.approve(token) === undefined
    const redirectTo = request.url.searchParams.get("redirect_to")
    if (!approved) return this.page(request, now, 404, "<h1>Invalid or expired request token</h1>")
    if (redirectTo === null) return this.page(request, now, 200, "<h1>Approved</h1><p>You can close this page.</p>")
    const target = URL.canParse(redirectTo) ? new URL(redirectTo) : undefined
    if (target === undefined) return this.page(request, now, 400, "<h1>redirect_to is not a URL</h1>")
    target.searchParams.set("request_token", token)
    target.searchParams.set("approved", "true")
    return this.page(request, now, 302, "", { location: target.toString() })
  }

  /** The asking approval page (`interactiveApproval`): who is signing in, Approve and Deny. */
  private approvalForm(request: IncomingRequest, now: number, token: string): Outcome {
    if (this.usableToken(token, now) === undefined) {
      return this.page(request, now, 404, "<h1>Invalid or expired request token</h1>")
    }
    const redirectTo = request.url.searchParams.get("redirect_to") ?? ""
    const action = `/authenticate/${encodeURIComponent(token)}`
    const users = Array.from(this.users.keys(), (name) => `<option>${escapeHtml(name)}</option>`).join("")
    // TMDB names the application; the fake names where the app sends the browser back to.
    const app = URL.canParse(redirectTo) ? new URL(redirectTo).origin : "An application"
    return this.page(
      request,
      now,
      200,
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Approve sign-in - FakeTmdb</title></head><body>` +
        `<h1><span id="app">${escapeHtml(app)}</span> wants to sign you in with your TMDB account</h1>` +
        `<form method="post" action="${action}/allow"><label>Signed in on TMDB as <select name="username">${users}</select></label>` +
        `<input type="hidden" name="redirect_to" value="${escapeHtml(redirectTo)}">` +
        `<button id="approve" type="submit">Approve</button></form>` +
        `<form method="post" action="${action}/deny"><input type="hidden" name="redirect_to" value="${
          escapeHtml(redirectTo)
        }">` +
        `<button id="deny" type="submit">Deny</button></form></body></html>`
    )
  }

  /** The buttons of the asking page: approve (as the chosen user) or deny, then TMDB's redirect. */
  private approvalDecision(request: IncomingRequest, now: number, token: string, allow: boolean): Outcome {
    const form = new URLSearchParams(request.body)
    const username = form.get("username") ?? undefined
    const refused = this.usableToken(token, now) === undefined
      ? "UnknownRequestToken"
      : allow
      ? this.approve(token, username)
      : this.deny(token)
    if (refused !== undefined) return this.page(request, now, 404, "<h1>Invalid or expired request token</h1>")
    const redirectTo = form.get("redirect_to") ?? ""
    if (redirectTo === "") {
      return this.page(request, now, 200, `<h1>${allow ? "Approved" : "Denied"}</h1><p>You can close this page.</p>`)
    }
    const target = URL.canParse(redirectTo) ? new URL(redirectTo) : undefined
    if (target === undefined) return this.page(request, now, 400, "<h1>redirect_to is not a URL</h1>")
    target.searchParams.set("request_token", token)
    target.searchParams.set(allow ? "approved" : "denied", "true")
    return this.page(request, now, 302, "", { location: target.toString() })
  }

  private nextScripted(route: Route): Fault | undefined {
    for (const key of [route, "*"]) {
      const queue = this.scripted.get(key)
      if (queue !== undefined && queue.length > 0) return queue.shift()
    }
    return undefined
  }

  private randomFault(rates: RandomFaults): Effect.Effect<Fault | undefined> {
    return Effect.map(this.chaos.next, (draw) => {
      let edge = 0
      const kinds: Array<[number | undefined, () => Fault]> = [
        [rates.rateLimited, () => Fault.RateLimited()],
        [rates.unavailable, () => Fault.Unavailable()],
        [rates.connectionReset, () => Fault.ConnectionReset()],
        [rates.truncated, () => Fault.Truncated()],
        [rates.delayed, () => Fault.Delay({ duration: rates.delay ?? Duration.seconds(2) })]
      ]
      for (const [rate, make] of kinds) {
        edge += rate ?? 0
        if (draw < edge) return make()
      }
      return undefined
    })
  }

  /** Sliding window: an answer counts when it is given; a refused request does not count. */
  private rateLimit(now: number): Answer | undefined {
    const limit = this.options.rateLimit
    if (limit === undefined || !(limit.requests >= 1)) return undefined
    const windowMillis = Duration.toMillis(limit.window ?? Duration.seconds(1))
    while (this.window.length > 0 && this.window[0]! <= now - windowMillis) this.window.shift()
    if (this.window.length < limit.requests) {
      this.window.push(now)
      return undefined
    }
    const waitMillis = this.window[0]! + windowMillis - now
    const answer = failure(25, { "retry-after": String(Math.max(1, Math.ceil(waitMillis / 1000))) })
    answer.body["status_message"] = `Your request count (${
      this.window.length + 1
    }) is over the allowed limit of (${limit.requests}).`
    return answer
  }

  private record(request: IncomingRequest, now: number, answer: Answer): Outcome {
    const statusCode = typeof answer.body["status_code"] === "number" && answer.body["success"] === false
      ? answer.body["status_code"]
      : undefined
    this.logRequest(request, now, answer.status, statusCode)
    return {
      _tag: "Respond",
      status: answer.status,
      headers: { "content-type": "application/json;charset=utf-8", ...answer.headers },
      body: JSON.stringify(answer.body)
    }
  }

  private logRequest(request: IncomingRequest, now: number, status: number, statusCode: number | undefined) {
    // The approval page carries the request token in its path: log the route, not the token.
    // The query is never logged: the legacy GET forms carry the password and the request token in it.
    const path = request.url.pathname.replace(/^\/authenticate\/[^/]+/, "/authenticate/:request_token")
    const route = `${request.method} ${path}`
    const body = parseBody(request.body)
    const entry = {
      method: request.method,
      path,
      credential: credentialKind(request),
      bodyKeys: body._tag === "Json" ? Object.keys(body.value) : [],
      status,
      statusCode,
      at: now
    }
    this.log.push(entry)
    if (this.onRequest !== undefined) this.onRequest({ ...entry, at: DateTime.unsafeMake(now) })
    const limit = this.options.maxLoggedRequests ?? 10_000
    if (this.log.length > limit * 2) this.log = this.log.slice(-limit)
    const key = `${route} ${status}`
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
  }

  /** The application credential: v3 takes a bearer token or an api_key; v4 only the bearer token. */
  private authorized(request: IncomingRequest, path: string): boolean {
    const bearer = /^Bearer (.+)$/i.exec(request.headers["authorization"] ?? "")?.[1]
    if (bearer !== undefined) return this.accessTokens.has(bearer)
    const apiKey = request.url.searchParams.get("api_key")
    return !path.startsWith("/4/") && apiKey !== null && this.apiKeys.has(apiKey)
  }

  private route(request: IncomingRequest, now: number): Answer | Effect.Effect<Answer> {
    const { method } = request
    const path = request.url.pathname.replace(/\/+$/, "")
    const custom = this.customRoutes.length === 0 ? undefined : matchRoute(this.customRoutes, method, path)
    // An unknown path and a known path with another method get the same answer from TMDB: 34.
    const handler = this.handlers[`${method} ${path}`]
    if (handler === undefined && custom === undefined) return failure(34)
    if (!this.authorized(request, path)) return failure(7)
    const parsed = parseBody(request.body)
    if (method !== "GET" && parsed._tag === "Invalid") return failure(47)
    const body = parsed._tag === "Json" ? parsed.value : undefined
    if (custom !== undefined) return this.custom(custom.route, custom.params, request, body, now)
    return handler!(body ?? {}, now, request.url.searchParams)
  }

  private custom(
    route: CustomRoute,
    params: Record<string, string>,
    request: IncomingRequest,
    body: Record<string, unknown> | undefined,
    now: number
  ): Effect.Effect<Answer> {
    const state: FakeState = {
      now: DateTime.unsafeMake(now),
      session: (sessionId) => {
        const session = sessionId == null ? undefined : this.sessions.get(sessionId)
        return session === undefined
          ? undefined
          : { username: session.username, accountId: this.accountNumberOf(session.username) }
      },
      guestSession: (id) => id != null && (this.guests.get(id) ?? 0) > now,
      user: (username) => this.users.get(username)
    }
    const fakeRequest: FakeRouteRequest = {
      method: request.method,
      path: request.url.pathname,
      params,
      query: request.url.searchParams,
      body,
      headers: request.headers
    }
    return Effect.suspend(() => {
      const response = route.handler(fakeRequest, state)
      return Effect.isEffect(response) ? response : Effect.succeed(response)
    }).pipe(Effect.map((response) => {
      const status = response.status ?? 200
      const json = response.body
      const record = typeof json === "object" && json !== null && !Array.isArray(json)
        ? json as Record<string, unknown>
        : { value: json }
      return new Answer(status, record, response.headers)
    }))
  }

  /** TMDB's authentication endpoints, by `METHOD /path`. */
  private readonly handlers: Record<
    string,
    (body: Record<string, unknown>, now: number, query: URLSearchParams) => Answer
  > = {
    "GET /3/authentication": () => success({ status_code: 1, status_message: messages[1] }),
    "GET /3/authentication/token/new": (_, now) => this.newRequestToken(now),
    "POST /3/authentication/token/validate_with_login": (body, now) => this.validateWithLogin(body, now),
    "POST /3/authentication/session/new": (body, now) => this.newSession(body, now),
    // The legacy GET forms, still answered by TMDB (older and generated clients send them): the same answers.
    "GET /3/authentication/token/validate_with_login": (_, now, query) =>
      this.validateWithLogin({
        username: query.get("username") ?? undefined,
        password: query.get("password") ?? undefined,
        request_token: query.get("request_token") ?? undefined
      }, now),
    "GET /3/authentication/session/new": (_, now, query) =>
      this.newSession({ request_token: query.get("request_token") ?? undefined }, now),
    "POST /3/authentication/session/convert/4": (body, now) => this.convert(body, now),
    "DELETE /3/authentication/session": (body) => this.deleteSession(body),
    "GET /3/authentication/guest_session/new": (_, now) => this.newGuestSession(now),
    "POST /4/auth/request_token": (body, now) => this.newRequestTokenV4(body, now),
    "POST /4/auth/access_token": (body, now) => this.newAccessToken(body, now),
    "DELETE /4/auth/access_token": (body) => this.deleteAccessToken(body),
    "GET /3/account": (_, __, query) => this.account(query.get("session_id"))
  }

  /** `GET /3/account?session_id=...`: the session's user; 401 with code 3 for a missing or unknown session. */
  private account(sessionId: string | null): Answer {
    const session = sessionId === null ? undefined : this.sessions.get(sessionId)
    if (session === undefined) return failure(3)
    const user = this.users.get(session.username)
    return new Answer(200, {
      avatar: { gravatar: { hash: "" }, tmdb: { avatar_path: null } },
      id: this.accountNumberOf(session.username),
      iso_639_1: "en",
      iso_3166_1: "US",
      name: user?.name ?? "",
      include_adult: false,
      username: session.username
    })
  }

  /** The v3 numeric account id of a user: stable for the fake's life. */
  private accountNumberOf(username: string): number {
    const known = this.accountNumbers.get(username)
    if (known !== undefined) return known
    const id = 1000 + this.accountNumbers.size
    this.accountNumbers.set(username, id)
    return id
  }

  /**
   * Forgets request tokens that are used or expired, and guest sessions past their expiry, once the maps have doubled
   * since the last sweep: a long-running fake-server stays bounded. Forgetting changes no answer (an unknown token gets
   * the same 33 as a used or expired one).
   */
  private sweep(now: number): void {
    if (this.requestTokens.size + this.guests.size < this.sweepAt) return
    for (const [token, state] of this.requestTokens) {
      if (state.used || state.expiresAt <= now) this.requestTokens.delete(token)
    }
    for (const [id, expiresAt] of this.guests) if (expiresAt <= now) this.guests.delete(id)
    this.sweepAt = Math.max(1024, 2 * (this.requestTokens.size + this.guests.size))
  }

  private newRequestToken(now: number) {
    this.sweep(now)
    const token = hex(40)
    const expiresAt = now + Duration.toMillis(this.options.requestTokenLifetime ?? V3_TOKEN_LIFETIME)
    this.requestTokens.set(token, {
      version: 3,
      expiresAt,
      redirectTo: undefined,
      approvedBy: undefined,
      denied: false,
      used: false
    })
    return success({ expires_at: formatTmdbDate(expiresAt), request_token: token })
  }

  /** A request token that can still be used, or undefined (code 33). */
  private usableToken(token: unknown, now: number, version: 3 | 4 = 3): RequestTokenState | undefined {
    if (typeof token !== "string") return undefined
    const state = this.requestTokens.get(token)
    return state === undefined || state.version !== version || state.used || state.expiresAt <= now ? undefined : state
  }

  private validateWithLogin(body: Record<string, unknown>, now: number): Answer {
    const { password, request_token, username } = body
    if (typeof username !== "string" || username === "" || typeof password !== "string" || password === "") {
      return failure(26)
    }
    const token = this.usableToken(request_token, now)
    if (token === undefined) return failure(33)
    const user = this.users.get(username)
    if (user === undefined || user.password !== password) return failure(30)
    if (user.status === "disabled") return failure(31)
    if (user.status === "unverified") return failure(32)
    if (token.denied) return failure(17)
    token.approvedBy = username
    return success({
      expires_at: formatTmdbDate(token.expiresAt),
      request_token
    })
  }

  private createSession(username: string, now: number) {
    const sessionId = hex(40)
    this.sessions.set(sessionId, { username, createdAt: now })
    return success({ session_id: sessionId })
  }

  private newSession(body: Record<string, unknown>, now: number): Answer {
    const token = this.usableToken(body["request_token"], now)
    if (token === undefined) return failure(33)
    if (token.approvedBy === undefined) return failure(17)
    token.used = true
    return this.createSession(token.approvedBy, now)
  }

  private convert(body: Record<string, unknown>, now: number): Answer {
    const accessToken = body["access_token"]
    const username = typeof accessToken === "string" ? this.v4Tokens.get(accessToken) : undefined
    return username === undefined ? failure(35) : this.createSession(username, now)
  }

  private deleteSession(body: Record<string, unknown>): Answer {
    const sessionId = body["session_id"]
    if (typeof sessionId !== "string" || !this.sessions.delete(sessionId)) return failure(37)
    return success()
  }

  private newRequestTokenV4(body: Record<string, unknown>, now: number): Answer {
    const redirectTo = typeof body["redirect_to"] === "string" ? body["redirect_to"] : undefined
    this.sweep(now)
    const token = hex(40)
    const expiresAt = now + Duration.toMillis(V4_TOKEN_LIFETIME)
    this.requestTokens.set(token, {
      version: 4,
      expiresAt,
      redirectTo,
      approvedBy: undefined,
      denied: false,
      used: false
    })
    return success({ status_code: 1, status_message: messages[1], request_token: token })
  }

  private accountIdOf(username: string): string {
    const known = this.accountIds.get(username)
    if (known !== undefined) return known
    const accountId = hex(24)
    this.accountIds.set(username, accountId)
    return accountId
  }

  private newAccessToken(body: Record<string, unknown>, now: number): Answer {
    const token = this.usableToken(body["request_token"], now, 4)
    if (token === undefined) return failure(33)
    if (token.approvedBy === undefined) return failure(41)
    token.used = true
    // JWT-shaped, like TMDB's; the signature part is random so that every token is new.
    const accessToken = `eyJhbGciOiJIUzI1NiJ9.${base64url(JSON.stringify({ sub: token.approvedBy }))}.${hex(32)}`
    this.v4Tokens.set(accessToken, token.approvedBy)
    return success({
      status_code: 1,
      status_message: messages[1],
      access_token: accessToken,
      account_id: this.accountIdOf(token.approvedBy)
    })
  }

  private deleteAccessToken(body: Record<string, unknown>): Answer {
    const accessToken = body["access_token"]
    if (typeof accessToken !== "string" || !this.v4Tokens.delete(accessToken)) return failure(35)
    return success({ status_code: 13, status_message: messages[13] })
  }

  private newGuestSession(now: number) {
    this.sweep(now)
    const guestSessionId = hex(32)
    const expiresAt = now + Duration.toMillis(this.options.guestSessionLifetime ?? GUEST_SESSION_LIFETIME)
    this.guests.set(guestSessionId, expiresAt)
    return success({ guest_session_id: guestSessionId, expires_at: formatTmdbDate(expiresAt) })
  }
}

const credentialKind = (request: IncomingRequest): LoggedRequest["credential"] =>
  request.headers["authorization"] !== undefined
    ? "bearer"
    : request.url.searchParams.has("api_key")
    ? "api_key"
    : "none"

type ParsedBody =
  | { readonly _tag: "Empty" }
  | { readonly _tag: "Invalid" }
  | { readonly _tag: "Json"; readonly value: Record<string, unknown> }

const parseBody = (body: string): ParsedBody => {
  if (body.trim() === "") return { _tag: "Empty" }
  try {
    const value: unknown = JSON.parse(body)
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? { _tag: "Json", value: value as Record<string, unknown> }
      : { _tag: "Invalid" }
  } catch {
    return { _tag: "Invalid" }
  }
}
