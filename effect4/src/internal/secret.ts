import * as Redacted from "effect/Redacted"

/** Wraps a secret the user handed over as a plain string; a `Redacted` passes through. */
export const toRedacted = (secret: string | Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.isRedacted(secret) ? secret : Redacted.make(secret)

/** The secret's value, on its way to the wire: a plain string is used as it is, without wrapping it first. */
export const reveal = (secret: string | Redacted.Redacted<string>): string =>
  typeof secret === "string" ? secret : Redacted.value(secret)
