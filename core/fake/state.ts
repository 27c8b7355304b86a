/**
 * The fake TMDB's state and its authentication endpoints: accounts, request tokens (v3 and v4), sessions, v4 access
 * tokens, guest sessions. Time is passed in (`now`, epoch milliseconds of the fake's clock); nothing here reads a clock.
 */
import { formatTmdbDate } from "../tmdbDate.js"
import { Answer, base64url, failure, hex, messages, success } from "./answers.js"

/** A user account of the fake. */
export interface FakeUser {
  readonly username: string
  readonly password: string
  /** `disabled` answers code 31, `unverified` code 32. Default `active`. */
  readonly status?: "active" | "disabled" | "unverified"
  /** The account's display name (`GET /3/account`'s `name`). Default empty, as on TMDB when none is set. */
  readonly name?: string
}

export const defaults = {
  /** JWT-shaped, like TMDB's read access tokens, so that clients which sniff the format send it as Bearer. */
  accessToken:
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlLXRtZGIiLCJzY29wZXMiOlsiYXBpX3JlYWQiXSwidmVyc2lvbiI6MX0.ZmFrZS1zaWduYXR1cmU",
  apiKey: "fake-api-key",
  user: { username: "demo", password: "demo-password" } as FakeUser
} as const

export const V3_TOKEN_LIFETIME_MILLIS = 60 * 60 * 1000
export const V4_TOKEN_LIFETIME_MILLIS = 15 * 60 * 1000
export const GUEST_SESSION_LIFETIME_MILLIS = 24 * 60 * 60 * 1000

/** Why a control of the fake refused: an unknown request token or user, or a token that cannot change any more. */
export type ControlRefusal = "UnknownRequestToken" | "UnknownUser" | "AlreadyDecided"

export interface RequestTokenState {
  readonly version: 3 | 4
  readonly expiresAt: number
  /** v4: where the approval page sends the browser. */
  readonly redirectTo: string | undefined
  approvedBy: string | undefined
  denied: boolean
  used: boolean
}

/** What the state starts from: accounts, v4 tokens, lifetimes. */
export interface StateOptions {
  readonly users?: ReadonlyArray<FakeUser> | undefined
  readonly v4AccessTokens?: ReadonlyArray<{ readonly accessToken: string; readonly username: string }> | undefined
  readonly requestTokenLifetimeMillis?: number | undefined
  readonly guestSessionLifetimeMillis?: number | undefined
}

/** TMDB's authentication state, as the fake keeps it. */
export class TmdbState {
  private users = new Map<string, FakeUser>()
  /** v4 user access tokens (configured or issued) -> username. */
  private v4Tokens = new Map<string, string>()
  private accountIds = new Map<string, string>()
  private accountNumbers = new Map<string, number>()
  private requestTokens = new Map<string, RequestTokenState>()
  private sessions = new Map<string, { readonly username: string; readonly createdAt: number }>()
  private guests = new Map<string, number>()
  private sweepAt = 1024

  constructor(readonly options: StateOptions) {
    this.reset()
  }

  /** Back to the options' users and v4 tokens; no tokens, sessions or guest sessions. */
  reset(): void {
    this.users = new Map((this.options.users ?? [defaults.user]).map((user) => [user.username, user]))
    this.v4Tokens = new Map((this.options.v4AccessTokens ?? []).map((t) => [t.accessToken, t.username]))
    this.accountIds = new Map()
    this.accountNumbers = new Map()
    this.requestTokens = new Map()
    this.sessions = new Map()
    this.guests = new Map()
    this.sweepAt = 1024
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

  user(username: string): FakeUser | undefined {
    return this.users.get(username)
  }

  usernames(): ReadonlyArray<string> {
    return Array.from(this.users.keys())
  }

  addUser(user: FakeUser): void {
    this.users.set(user.username, user)
  }

  addV4AccessToken(accessToken: string, username: string): void {
    this.v4Tokens.set(accessToken, username)
  }

  /** Sessions TMDB has not deleted: id, user, creation time. */
  liveSessions(): ReadonlyArray<{ readonly sessionId: string; readonly username: string; readonly createdAt: number }> {
    return Array.from(this.sessions, ([sessionId, s]) => ({ sessionId, username: s.username, createdAt: s.createdAt }))
  }

  /** The user a session id belongs to, with the account's numeric id; undefined for an unknown one. */
  sessionOf(sessionId: string): { readonly username: string; readonly accountId: number } | undefined {
    const session = this.sessions.get(sessionId)
    return session === undefined
      ? undefined
      : { username: session.username, accountId: this.accountNumberOf(session.username) }
  }

  /** v4 user access tokens that work (configured or issued, not logged out): account and user. */
  liveAccessTokens(): ReadonlyArray<{ readonly username: string; readonly accountId: string }> {
    return Array.from(this.v4Tokens.values(), (username) => ({ username, accountId: this.accountIdOf(username) }))
  }

  /** Guest sessions alive at `now`. */
  liveGuestSessions(now: number): ReadonlyArray<{ readonly guestSessionId: string; readonly expiresAt: number }> {
    return Array.from(this.guests).filter(([, expiresAt]) => expiresAt > now).map(([guestSessionId, expiresAt]) => ({
      guestSessionId,
      expiresAt
    }))
  }

  /** Whether a guest session id is known and not expired at `now`. */
  guestSessionAlive(guestSessionId: string, now: number): boolean {
    return (this.guests.get(guestSessionId) ?? 0) > now
  }

  /** `GET /3/account?session_id=...`: the session's user; 401 with code 3 for a missing or unknown session. */
  account(sessionId: string | null): Answer {
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

  newRequestToken(now: number): Answer {
    this.sweep(now)
    const token = hex(40)
    const expiresAt = now + (this.options.requestTokenLifetimeMillis ?? V3_TOKEN_LIFETIME_MILLIS)
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
  usableToken(token: unknown, now: number, version: 3 | 4 = 3): RequestTokenState | undefined {
    if (typeof token !== "string") return undefined
    const state = this.requestTokens.get(token)
    return state === undefined || state.version !== version || state.used || state.expiresAt <= now ? undefined : state
  }

  validateWithLogin(body: Record<string, unknown>, now: number): Answer {
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

  private createSession(username: string, now: number): Answer {
    const sessionId = hex(40)
    this.sessions.set(sessionId, { username, createdAt: now })
    return success({ session_id: sessionId })
  }

  newSession(body: Record<string, unknown>, now: number): Answer {
    const token = this.usableToken(body["request_token"], now)
    if (token === undefined) return failure(33)
    if (token.approvedBy === undefined) return failure(17)
    token.used = true
    return this.createSession(token.approvedBy, now)
  }

  convert(body: Record<string, unknown>, now: number): Answer {
    const accessToken = body["access_token"]
    const username = typeof accessToken === "string" ? this.v4Tokens.get(accessToken) : undefined
    return username === undefined ? failure(35) : this.createSession(username, now)
  }

  deleteSession(body: Record<string, unknown>): Answer {
    const sessionId = body["session_id"]
    if (typeof sessionId !== "string" || !this.sessions.delete(sessionId)) return failure(37)
    return success()
  }

  newRequestTokenV4(body: Record<string, unknown>, now: number): Answer {
    const redirectTo = typeof body["redirect_to"] === "string" ? body["redirect_to"] : undefined
    this.sweep(now)
    const token = hex(40)
    const expiresAt = now + V4_TOKEN_LIFETIME_MILLIS
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

  newAccessToken(body: Record<string, unknown>, now: number): Answer {
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

  deleteAccessToken(body: Record<string, unknown>): Answer {
    const accessToken = body["access_token"]
    if (typeof accessToken !== "string" || !this.v4Tokens.delete(accessToken)) return failure(35)
    return success({ status_code: 13, status_message: messages[13] })
  }

  newGuestSession(now: number): Answer {
    this.sweep(now)
    const guestSessionId = hex(32)
    const expiresAt = now + (this.options.guestSessionLifetimeMillis ?? GUEST_SESSION_LIFETIME_MILLIS)
    this.guests.set(guestSessionId, expiresAt)
    return success({ guest_session_id: guestSessionId, expires_at: formatTmdbDate(expiresAt) })
  }
}
