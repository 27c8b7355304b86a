/** TMDB's JSON, as it is on the wire. */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaGetter from "effect/SchemaGetter"
import * as SchemaIssue from "effect/SchemaIssue"
import { formatTmdbDate } from "../../core/tmdbDate.js"

const tmdbDateTime = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC$/

/** TMDB's `expires_at`: `YYYY-MM-DD HH:MM:SS UTC`, a literal ` UTC` suffix rather than ISO 8601. */
export const TmdbDateTime = Schema.String.pipe(Schema.decodeTo(Schema.DateTimeUtc, {
  decode: SchemaGetter.transformEffect((input: string) => {
    const match = tmdbDateTime.exec(input)
    // Epoch milliseconds straight from the ISO form: cheaper than parsing a DateTime from a string.
    const millis = match === null ? Number.NaN : Date.parse(`${match[1]}T${match[2]}Z`)
    return Number.isNaN(millis)
      ? Effect.fail(new SchemaIssue.InvalidValue({ message: "Expected a date like 2016-08-26 17:04:39 UTC" }, input))
      : Effect.succeed(DateTime.makeUnsafe(millis))
  }),
  encode: SchemaGetter.transform((dateTime: DateTime.Utc) => formatTmdbDate(DateTime.toEpochMillis(dateTime)))
}))

export { formatTmdbDate } from "../../core/tmdbDate.js"

const Secret = Schema.RedactedFromValue(Schema.String)

/** An answer that says only that it worked (validate key, delete session, delete access token). */
export const SuccessResponse = Schema.Struct({ success: Schema.Literal(true) })

export const RequestTokenResponse = Schema.Struct({
  success: Schema.Literal(true),
  expires_at: TmdbDateTime,
  request_token: Secret
})

export const SessionResponse = Schema.Struct({
  success: Schema.Literal(true),
  session_id: Secret
})

export const GuestSessionResponse = Schema.Struct({
  success: Schema.Literal(true),
  guest_session_id: Secret,
  expires_at: TmdbDateTime
})

/** Any TMDB error body; both fields are optional so that partial bodies still count. */
export const ErrorBody = Schema.Struct({
  success: Schema.optional(Schema.Boolean),
  status_code: Schema.optional(Schema.Number),
  status_message: Schema.optional(Schema.String)
})

export const RequestTokenV4Response = Schema.Struct({
  success: Schema.Literal(true),
  request_token: Secret
})

export const AccessTokenResponse = Schema.Struct({
  success: Schema.Literal(true),
  access_token: Secret,
  account_id: Schema.String
})
