/** Text of transport failures and of server messages for error messages, with anything that may hold a secret taken out. */

const urlPattern = /\b[a-z][a-z0-9+.-]*:\/\/\S+/gi
const secretParams = /\b(api_key|session_id|guest_session_id)=[^&\s)]+/gi

/** Platform error text may quote the URL, which can hold the API key or a session id. */
export const scrub = (text: string): string => text.replace(urlPattern, "<url>").replace(secretParams, "$1=<redacted>")

/**
 * `text` with every secret in it replaced by `<redacted>`, in the forms a server may echo it: as sent, URL-encoded
 * (both ways) and JSON-escaped. For text a server wrote (`status_message`), which may quote the request.
 */
export const scrubSecrets = (text: string, secrets: ReadonlyArray<string>): string => {
  let scrubbed = text
  for (const secret of secrets) {
    if (secret === "") continue
    const forms = new Set([
      secret,
      encodeURIComponent(secret),
      new URLSearchParams({ s: secret }).toString().slice(2),
      JSON.stringify(secret).slice(1, -1)
    ])
    for (const form of forms) scrubbed = scrubbed.split(form).join("<redacted>")
  }
  return scrubbed
}

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
