/**
 * The engine of the fake TMDB: requests in, answers out, over `TmdbState` (state.ts), with the rate limit, faults
 * (faults.ts), approval pages (pages.ts), routes of the app's own (routes.ts) and the request log. Independent of how
 * requests arrive (an in-memory HttpClient, a real HTTP server) and of Effect: time is passed in (`clockMillis`, to
 * which the control API's offset is added), randomness too (`random`). A request answers at once (`Answer`), after a
 * delay (`Delay`: the caller waits, then resumes with its clock), or from a route of the app's own (`Custom`: the
 * caller runs the handler and hands its response back).
 */
import { Answer, credentialKind, failure, type IncomingRequest, parseBody, success } from "./answers.js"
import { drawFault, type FaultRates, type FaultSpec, type Route, ScriptedFaults } from "./faults.js"
import { approvalDecision, approvalForm, approvalPage, approvalPageV4, type Page } from "./pages.js"
import { compileRoutes, type CustomRoute, matchRoute } from "./routes.js"
import { defaults, type FakeUser, type StateOptions, TmdbState } from "./state.js"

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
  /** The fake's time, epoch milliseconds. */
  readonly at: number
}

/** How many answers a route gave with one HTTP status (0: connection reset). */
export interface RouteCount {
  readonly route: string
  readonly status: number
  readonly count: number
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

/** A request to a route of the app's own. */
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
export interface CustomState {
  readonly nowMillis: number
  readonly session: (
    sessionId: string | null | undefined
  ) => { readonly username: string; readonly accountId: number } | undefined
  readonly guestSession: (guestSessionId: string | null | undefined) => boolean
  readonly user: (username: string) => FakeUser | undefined
}

/** What a route of the app's own answers: a status (default 200), a JSON body, extra headers. */
export interface FakeResponse {
  readonly status?: number | undefined
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/** Where a request stands: answered, waiting out a delay, or waiting for a route of the app's own. */
export type Step<H> =
  | { readonly _tag: "Answer"; readonly outcome: Outcome }
  | { readonly _tag: "Delay"; readonly millis: number; readonly resume: (clockMillis: number) => Step<H> }
  | {
    readonly _tag: "Custom"
    readonly handler: H
    readonly request: FakeRouteRequest
    readonly state: CustomState
    readonly resume: (response: FakeResponse) => Outcome
  }

/** The engine's options: the state's, the credentials it accepts, the limit, the faults, the app's routes. */
export interface EngineOptions<H> extends StateOptions {
  readonly accessTokens?: ReadonlyArray<string> | undefined
  readonly apiKeys?: ReadonlyArray<string> | undefined
  /** At most `requests` answered per sliding window; `requests: 0` is no limit. */
  readonly rateLimit?: { readonly requests: number; readonly windowMillis: number } | undefined
  readonly faults?: FaultRates | undefined
  readonly interactiveApproval?: boolean | undefined
  readonly routes?: Readonly<Record<string, H>> | undefined
  readonly maxLoggedRequests?: number | undefined
  /** A generator of uniform draws in [0, 1) for a seed: the random faults' (made anew when the mix is replaced). */
  readonly random: (seed: number) => () => number
}

const answered = (outcome: Outcome): Step<never> => ({ _tag: "Answer", outcome })

/** The simulator: one per fake; both faces drive `handle`. */
export class FakeEngine<H> {
  readonly state: TmdbState
  private readonly accessTokens: Set<string>
  private readonly apiKeys: Set<string>
  private readonly customRoutes: ReadonlyArray<CustomRoute<H>>
  private readonly scripted = new ScriptedFaults()
  private window: Array<number> = []
  private log: Array<LoggedRequest> = []
  private counts = new Map<string, number>()
  private randomFaults: FaultRates | undefined
  private draw: () => number
  /** What the control API's `clock` added to the caller's clock, in milliseconds. */
  private clockOffset = 0
  /** Told of every request the fake answers (the request log's entry): `fake-server --verbose`. */
  onRequest: ((request: LoggedRequest) => void) | undefined = undefined

  constructor(readonly options: EngineOptions<H>) {
    this.state = new TmdbState(options)
    this.accessTokens = new Set(options.accessTokens ?? [defaults.accessToken])
    this.apiKeys = new Set(options.apiKeys ?? [defaults.apiKey])
    this.customRoutes = compileRoutes(options.routes ?? {})
    this.randomFaults = options.faults
    this.draw = options.random(options.faults?.seed ?? 42)
    this.reset()
  }

  // Control -------------------------------------------------------------------------------------------------

  /** Back to the state the fake started in: its options' users and v4 tokens; no tokens, sessions, log, faults. */
  reset(): void {
    this.state.reset()
    this.scripted.clear()
    this.window = []
    this.log = []
    this.counts = new Map()
    this.setRandomFaults(this.options.faults)
    this.clockOffset = 0
  }

  /** Moves the fake's clock forward (token and guest expiry, rate windows); returns the new offset in ms. */
  advanceClock(millis: number): number {
    this.clockOffset += millis
    return this.clockOffset
  }

  /** The fake's time given the caller's clock. */
  timeAt(clockMillis: number): number {
    return clockMillis + this.clockOffset
  }

  /** What the control API's `clock` added to the caller's clock, in milliseconds. */
  get clockOffsetMillis(): number {
    return this.clockOffset
  }

  /** Replaces the random fault mix (undefined: none), with a fresh generator from its seed. */
  setRandomFaults(rates: FaultRates | undefined): void {
    this.randomFaults = rates
    this.draw = this.options.random(rates?.seed ?? 42)
  }

  /** Drops every scripted fault and the random mix. */
  clearFaults(): void {
    this.scripted.clear()
    this.setRandomFaults(undefined)
  }

  /** The next answers to `route` (`"METHOD /path"`, or `"*"` for any) are these faults, in order. */
  fail(route: Route, faults: ReadonlyArray<FaultSpec>): void {
    this.scripted.add(route, faults)
  }

  get requests(): ReadonlyArray<LoggedRequest> {
    return this.log
  }

  get counters(): ReadonlyArray<RouteCount> {
    return Array.from(this.counts, ([key, count]) => {
      const at = key.lastIndexOf(" ")
      return { route: key.slice(0, at), status: Number(key.slice(at + 1)), count }
    })
  }

  // Requests ------------------------------------------------------------------------------------------------

  /** Answers `request` arriving at `clockMillis` (the caller's clock; the fake adds its offset). */
  handle(request: IncomingRequest, clockMillis: number): Step<H> {
    const scripted = this.scripted.next(`${request.method} ${request.url.pathname}`)
    const fault = scripted ?? (this.randomFaults === undefined ? undefined : drawFault(this.randomFaults, this.draw()))
    return fault?._tag === "Delay"
      ? { _tag: "Delay", millis: fault.millis, resume: (clock) => this.answer(request, this.timeAt(clock), fault) }
      : this.answer(request, this.timeAt(clockMillis), fault)
  }

  private answer(request: IncomingRequest, now: number, fault: FaultSpec | undefined): Step<H> {
    switch (fault?._tag) {
      case "RateLimited":
        return answered(this.record(request, now, failure(25, { "retry-after": String(fault.retryAfter ?? 1) })))
      case "Unavailable":
        return answered(this.record(request, now, failure(fault.code ?? 9)))
      case "InternalError":
        return answered(this.record(request, now, failure(11)))
      case "ConnectionReset":
        this.logRequest(request, now, 0, undefined)
        return answered({ _tag: "Reset" })
    }
    const path = request.url.pathname
    const approval = /^\/authenticate\/([^/]+)$/.exec(path)
    if (request.method === "GET" && approval !== null) {
      const token = decodeURIComponent(approval[1]!)
      return this.page(
        request,
        now,
        this.options.interactiveApproval === true
          ? approvalForm(this.state, request, now, token)
          : approvalPage(this.state, request, now, token)
      )
    }
    const decision = /^\/authenticate\/([^/]+)\/(allow|deny)$/.exec(path)
    if (request.method === "POST" && decision !== null && this.options.interactiveApproval === true) {
      const token = decodeURIComponent(decision[1]!)
      return this.page(request, now, approvalDecision(this.state, request, now, token, decision[2] === "allow"))
    }
    if (request.method === "GET" && path === "/auth/access") {
      const token = request.url.searchParams.get("request_token") ?? ""
      return this.page(request, now, approvalPageV4(this.state, now, token))
    }
    const answer = this.rateLimit(now) ?? this.route(request, now)
    if (answer instanceof Answer) return answered(this.finish(request, now, answer, fault))
    return {
      ...answer,
      resume: (response: FakeResponse) => this.finish(request, now, answer.resume(response), fault)
    }
  }

  private finish(request: IncomingRequest, now: number, answer: Answer, fault: FaultSpec | undefined): Outcome {
    const outcome = this.record(request, now, answer)
    return fault?._tag === "Truncated" && outcome._tag === "Respond"
      ? { ...outcome, body: outcome.body.slice(0, Math.floor(outcome.body.length / 2)) }
      : outcome
  }

  private page(request: IncomingRequest, now: number, page: Page): Step<H> {
    this.logRequest(request, now, page.status, undefined)
    return answered({
      _tag: "Respond",
      status: page.status,
      headers: { "content-type": "text/html;charset=utf-8", ...page.headers },
      body: page.html
    })
  }

  /** Sliding window: an answer counts when it is given; a refused request does not count. */
  private rateLimit(now: number): Answer | undefined {
    const limit = this.options.rateLimit
    if (limit === undefined || !(limit.requests >= 1)) return undefined
    const windowMillis = limit.windowMillis
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
    const entry: LoggedRequest = {
      method: request.method,
      path,
      credential: credentialKind(request),
      bodyKeys: body._tag === "Json" ? Object.keys(body.value) : [],
      status,
      statusCode,
      at: now
    }
    this.log.push(entry)
    if (this.onRequest !== undefined) this.onRequest(entry)
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

  private route(
    request: IncomingRequest,
    now: number
  ):
    | Answer
    | Omit<Extract<Step<H>, { readonly _tag: "Custom" }>, "resume"> & {
      readonly resume: (response: FakeResponse) => Answer
    }
  {
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
    if (custom === undefined) return handler!(body ?? {}, now, request.url.searchParams)
    const state: CustomState = {
      nowMillis: now,
      session: (sessionId) => sessionId == null ? undefined : this.state.sessionOf(sessionId),
      guestSession: (id) => id != null && this.state.guestSessionAlive(id, now),
      user: (username) => this.state.user(username)
    }
    return {
      _tag: "Custom",
      handler: custom.route.handler,
      request: {
        method: request.method,
        path: request.url.pathname,
        params: custom.params,
        query: request.url.searchParams,
        body,
        headers: request.headers
      },
      state,
      resume: (response) => {
        const json = response.body
        const record = typeof json === "object" && json !== null && !Array.isArray(json)
          ? json as Record<string, unknown>
          : { value: json }
        return new Answer(response.status ?? 200, record, response.headers)
      }
    }
  }

  /** TMDB's authentication endpoints, by `METHOD /path`. */
  private readonly handlers: Record<
    string,
    (body: Record<string, unknown>, now: number, query: URLSearchParams) => Answer
  > = {
    "GET /3/authentication": () => success({ status_code: 1, status_message: "Success." }),
    "GET /3/authentication/token/new": (_, now) => this.state.newRequestToken(now),
    "POST /3/authentication/token/validate_with_login": (body, now) => this.state.validateWithLogin(body, now),
    "POST /3/authentication/session/new": (body, now) => this.state.newSession(body, now),
    // The legacy GET forms, still answered by TMDB (older and generated clients send them): the same answers.
    "GET /3/authentication/token/validate_with_login": (_, now, query) =>
      this.state.validateWithLogin({
        username: query.get("username") ?? undefined,
        password: query.get("password") ?? undefined,
        request_token: query.get("request_token") ?? undefined
      }, now),
    "GET /3/authentication/session/new": (_, now, query) =>
      this.state.newSession({ request_token: query.get("request_token") ?? undefined }, now),
    "POST /3/authentication/session/convert/4": (body, now) => this.state.convert(body, now),
    "DELETE /3/authentication/session": (body) => this.state.deleteSession(body),
    "GET /3/authentication/guest_session/new": (_, now) => this.state.newGuestSession(now),
    "POST /4/auth/request_token": (body, now) => this.state.newRequestTokenV4(body, now),
    "POST /4/auth/access_token": (body, now) => this.state.newAccessToken(body, now),
    "DELETE /4/auth/access_token": (body) => this.state.deleteAccessToken(body),
    "GET /3/account": (_, __, query) => this.state.account(query.get("session_id"))
  }
}
