/** Routes of the app's own on the fake (`routes` option): `"METHOD /path"` keys, `:name` segments. */

/** A route of the app's own, compiled: `:name` segments match any one segment. */
export interface CustomRoute<H> {
  readonly method: string
  readonly segments: ReadonlyArray<string>
  readonly handler: H
}

export const compileRoutes = <H>(routes: Readonly<Record<string, H>>): ReadonlyArray<CustomRoute<H>> =>
  Object.entries(routes).map(([key, handler]) => {
    const match = /^([A-Z]+) (\/\S*)$/.exec(key)
    if (match === null) {
      throw new TypeError(
        `FakeTmdb routes: ${
          JSON.stringify(key)
        } is not "METHOD /path" (for example "GET /3/account/:account_id/watchlist/movies")`
      )
    }
    return { method: match[1]!, segments: match[2]!.replace(/\/+$/, "").split("/"), handler }
  })

export const matchRoute = <H>(
  routes: ReadonlyArray<CustomRoute<H>>,
  method: string,
  path: string
): { readonly route: CustomRoute<H>; readonly params: Record<string, string> } | undefined => {
  const segments = path.split("/")
  for (const route of routes) {
    if (route.method !== method || route.segments.length !== segments.length) continue
    const params: Record<string, string> = {}
    let matched = true
    for (let i = 0; i < segments.length && matched; i++) {
      const pattern = route.segments[i]!
      if (pattern.startsWith(":") && segments[i] !== "") params[pattern.slice(1)] = decodeURIComponent(segments[i]!)
      else matched = pattern === segments[i]
    }
    if (matched) return { route, params }
  }
  return undefined
}
