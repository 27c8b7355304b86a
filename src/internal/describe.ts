/** Text of transport failures for error messages, with anything that may hold a secret taken out. */

const urlPattern = /\b[a-z][a-z0-9+.-]*:\/\/\S+/gi
const secretParams = /\b(api_key|session_id|guest_session_id)=[^&\s)]+/gi

/** Platform error text may quote the URL, which can hold the API key or a session id. */
export const scrub = (text: string): string => text.replace(urlPattern, "<url>").replace(secretParams, "$1=<redacted>")

/** An error's code and message, and its cause's, scrubbed. */
export const describeCause = (cause: unknown): string | undefined => {
  if (cause instanceof Error) {
    const code = (cause as { readonly code?: unknown }).code
    const inner = (cause as { readonly cause?: unknown }).cause
    const innerText = inner instanceof Error ? `: ${describeCause(inner)}` : ""
    return scrub(`${typeof code === "string" ? `${code} ` : ""}${cause.message}${innerText}`)
  }
  return cause === undefined ? undefined : scrub(String(cause))
}
