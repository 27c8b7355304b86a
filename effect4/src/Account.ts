/**
 * The TMDB account behind a user session: who signed in.
 *
 * @since 0.5.0
 */
import * as Schema from "effect/Schema"

/**
 * `GET /3/account`'s answer: the v3 account id, the username, the display name (empty when the user set none), the
 * language and country codes, and whether adult content is included.
 *
 * @since 0.5.0
 */
export class Account extends Schema.Class<Account>("Account")({
  id: Schema.Number,
  username: Schema.String,
  name: Schema.String,
  /** ISO 639-1, e.g. `en`. */
  languageCode: Schema.String,
  /** ISO 3166-1, e.g. `CA`. */
  countryCode: Schema.String,
  includeAdult: Schema.Boolean
}) {}
