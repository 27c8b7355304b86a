/**
 * TMDB's approval pages as the fake serves them (v3 `/authenticate/{token}`, its asking form with
 * `interactiveApproval`, and v4 `/auth/access`): what a user's browser sees and where it is sent back to.
 */
import { escapeHtml } from "../html.js"
import type { IncomingRequest } from "./answers.js"
import type { TmdbState } from "./state.js"

/** A page: status, HTML, extra headers (a redirect's `location`). */
export interface Page {
  readonly status: number
  readonly html: string
  readonly headers?: Record<string, string>
}

const invalid: Page = { status: 404, html: "<h1>Invalid or expired request token</h1>" }
const closeThis = (what: string): Page => ({ status: 200, html: `<h1>${what}</h1><p>You can close this page.</p>` })

/** Back to `redirectTo` with the token and the decision, as TMDB redirects. */
const redirectBack = (redirectTo: string, token: string, decision: "approved" | "denied"): Page => {
  const target = URL.canParse(redirectTo) ? new URL(redirectTo) : undefined
  if (target === undefined) return { status: 400, html: "<h1>redirect_to is not a URL</h1>" }
  target.searchParams.set("request_token", token)
  target.searchParams.set(decision, "true")
  return { status: 302, html: "", headers: { location: target.toString() } }
}

/** TMDB's v4 approval page, `GET /auth/access?request_token=...`: approves, then redirects to `redirect_to`. */
export const approvalPageV4 = (state: TmdbState, now: number, token: string): Page => {
  const tokenState = state.usableToken(token, now, 4)
  if (tokenState === undefined || state.approve(token) !== undefined) return invalid
  return tokenState.redirectTo === undefined
    ? closeThis("Approved")
    : { status: 302, html: "", headers: { location: tokenState.redirectTo } }
}

/**
 * TMDB's approval page, `GET /authenticate/{token}[?redirect_to=...]`: the fake approves at once, as the first
 * user, then redirects like TMDB (adding `request_token` and `approved=true`) or shows a short page.
 */
export const approvalPage = (state: TmdbState, request: IncomingRequest, now: number, token: string): Page => {
  const approved = state.usableToken(token, now) !== undefined && state.approve(token) === undefined
  const redirectTo = request.url.searchParams.get("redirect_to")
  if (!approved) return invalid
  if (redirectTo === null) return closeThis("Approved")
  return redirectBack(redirectTo, token, "approved")
}

/** The asking approval page (`interactiveApproval`): who is signing in, Approve and Deny. */
export const approvalForm = (state: TmdbState, request: IncomingRequest, now: number, token: string): Page => {
  if (state.usableToken(token, now) === undefined) return invalid
  const redirectTo = request.url.searchParams.get("redirect_to") ?? ""
  const action = `/authenticate/${encodeURIComponent(token)}`
  const users = state.usernames().map((name) => `<option>${escapeHtml(name)}</option>`).join("")
  // TMDB names the application; the fake names where the app sends the browser back to.
  const app = URL.canParse(redirectTo) ? new URL(redirectTo).origin : "An application"
  return {
    status: 200,
    html:
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Approve sign-in - FakeTmdb</title></head><body>` +
      `<h1><span id="app">${escapeHtml(app)}</span> wants to sign you in with your TMDB account</h1>` +
      `<form method="post" action="${action}/allow"><label>Signed in on TMDB as <select name="username">${users}</select></label>` +
      `<input type="hidden" name="redirect_to" value="${escapeHtml(redirectTo)}">` +
      `<button id="approve" type="submit">Approve</button></form>` +
      `<form method="post" action="${action}/deny"><input type="hidden" name="redirect_to" value="${
        escapeHtml(redirectTo)
      }">` +
      `<button id="deny" type="submit">Deny</button></form></body></html>`
  }
}

/** The buttons of the asking page: approve (as the chosen user) or deny, then TMDB's redirect. */
export const approvalDecision = (
  state: TmdbState,
  request: IncomingRequest,
  now: number,
  token: string,
  allow: boolean
): Page => {
  const form = new URLSearchParams(request.body)
  const username = form.get("username") ?? undefined
  const refused = state.usableToken(token, now) === undefined
    ? "UnknownRequestToken"
    : allow
    ? state.approve(token, username)
    : state.deny(token)
  if (refused !== undefined) return invalid
  const redirectTo = form.get("redirect_to") ?? ""
  if (redirectTo === "") return closeThis(allow ? "Approved" : "Denied")
  return redirectBack(redirectTo, token, allow ? "approved" : "denied")
}
