import * as Redacted from "effect/Redacted"

/** Wraps a secret the user handed over as a plain string; a `Redacted` passes through. */
export const toRedacted = (secret: string | Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.isRedacted(secret) ? secret : Redacted.make(secret)
