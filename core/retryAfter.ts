/** `Retry-After` (RFC 9110 10.2.3), as TMDB and the CDN in front of it send it. */

/** The three HTTP-date forms (RFC 9110 5.6.7): IMF-fixdate, and the obsolete RFC 850 and asctime forms. */
const httpDate =
  /^(?:[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]{6,9}, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})$/

/**
 * The wait a `Retry-After` asks for, in milliseconds: a non-negative number of seconds (a decimal is accepted), or an
 * HTTP date (one in the past means no wait) read against `nowMillis`. Anything else, a negative number or garbage, is
 * `undefined`: the caller's backoff applies. Callers cap the wait.
 */
export const retryAfterMillis = (header: string | undefined, nowMillis: number): number | undefined => {
  if (header === undefined) return undefined
  const trimmed = header.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    const millis = Number(trimmed) * 1000
    // More digits than a number holds: no wait anyone could honour; ignored like garbage.
    return Number.isFinite(millis) ? millis : undefined
  }
  if (!httpDate.test(trimmed)) return undefined
  // The asctime form carries no zone: it is GMT.
  const at = Date.parse(trimmed.endsWith("GMT") ? trimmed : `${trimmed} GMT`)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMillis)
}
