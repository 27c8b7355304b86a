/**
 * `effect-tmdb-auth/testing`: the fake TMDB for your tests.
 *
 * @since 0.1.0
 */
export * from "./FakeTmdb.js"
