/**
 * TMDB's answers as the fake gives them: the status messages and HTTP statuses of TMDB's codes, success and failure
 * bodies, unpredictable ids, and the request's body read as TMDB reads it.
 */

export const messages: Record<number, string> = {
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

export const httpStatusOf: Record<number, number> = {
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

/** An answer before it is written: status, JSON body, extra headers. */
export class Answer {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Readonly<Record<string, string>> = {}
  ) {}
}

export const success = (body: Record<string, unknown> = {}) => new Answer(200, { success: true, ...body })

export const failure = (code: number, headers?: Record<string, string>) =>
  new Answer(httpStatusOf[code] ?? 400, {
    success: false,
    status_code: code,
    status_message: messages[code] ?? "Failed."
  }, headers)

/** Unpredictable ids, like TMDB's (40 hex characters for tokens and sessions, 32 for guest sessions). */
export const hex = (() => {
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
export const base64url = (text: string): string =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text))).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    ""
  )

/** A request as the fake receives it, from either face (in-memory HttpClient or a real HTTP server). */
export interface IncomingRequest {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: string
}

export const credentialKind = (request: IncomingRequest): "bearer" | "api_key" | "none" =>
  request.headers["authorization"] !== undefined
    ? "bearer"
    : request.url.searchParams.has("api_key")
    ? "api_key"
    : "none"

export type ParsedBody =
  | { readonly _tag: "Empty" }
  | { readonly _tag: "Invalid" }
  | { readonly _tag: "Json"; readonly value: Record<string, unknown> }

export const parseBody = (body: string): ParsedBody => {
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
