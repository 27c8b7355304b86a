/**
 * Security headers: what every page of the app should carry (no framing, no MIME sniffing), and the stricter policy
 * of the web login's own pages (no script, no subresource from elsewhere).
 */
import * as HttpServerResponse from "effect/http/HttpServerResponse"

/** No framing (clickjacking), no MIME sniffing. */
export const securityHeaderValues: Readonly<Record<string, string>> = {
  "x-frame-options": "DENY",
  "content-security-policy": "frame-ancestors 'none'",
  "x-content-type-options": "nosniff"
}

/** The login's own pages: nothing but inline style, links and forms to this app; never framed; never cached. */
const pageHeaderValues: Readonly<Record<string, string>> = {
  ...securityHeaderValues,
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "cache-control": "no-store"
}

/** Adds the headers a response does not set itself (a handler's own CSP wins). */
const addMissing = (headers: Readonly<Record<string, string>>) => (response: HttpServerResponse.HttpServerResponse) => {
  const missing = Object.entries(headers).filter(([name]) => response.headers[name] === undefined)
  return missing.length === 0 ? response : HttpServerResponse.setHeaders(response, Object.fromEntries(missing))
}

/** Adds {@link securityHeaderValues} where missing. */
export const withSecurityHeaders = addMissing(securityHeaderValues)

/** Adds the login pages' headers. */
export const withPageHeaders = addMissing(pageHeaderValues)
