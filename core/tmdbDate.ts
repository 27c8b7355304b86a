/** TMDB's `expires_at` form: `2016-08-26 17:04:39 UTC`, a literal ` UTC` suffix rather than ISO 8601. */

/** Formats epoch milliseconds as TMDB does: `2016-08-26 17:04:39 UTC`. */
export const formatTmdbDate = (epochMillis: number): string =>
  `${new Date(epochMillis).toISOString().slice(0, 19).replace("T", " ")} UTC`
