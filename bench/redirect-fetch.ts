/**
 * `@lorenzopant/tmdb`'s base URL is fixed to api.themoviedb.org: the benchmarks point its fetch at the local server.
 * Returns the function that puts the real fetch back.
 */
export const redirectTmdbFetch = (serverUrl: string): () => void => {
  const realFetch = globalThis.fetch
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) =>
    realFetch(
      String(input instanceof Request ? input.url : input).replace("https://api.themoviedb.org", serverUrl),
      init
    )) as typeof fetch
  return () => {
    globalThis.fetch = realFetch
  }
}
