/**
 * The built package (dist/), typed as its sources. Benchmarks measure what users run: the compiled JavaScript, not
 * the sources transpiled on the fly (tsx's output runs measurably slower). Imported dynamically so that a fresh
 * checkout typechecks before `npm run build` has made dist/.
 */
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = new URL("../dist/src/", import.meta.url)
if (!existsSync(fileURLToPath(new URL("index.js", root)))) {
  throw new Error("dist/ is missing: run `npm run build` first (npm run bench does)")
}

export const { AuthService, isAuthError, TmdbClient, TmdbConfig, TmdbHttpClient, TmdbLimiter } =
  (await import(new URL("index.js", root).href)) as typeof import("../src/index.js")
export const { FakeTmdb } =
  (await import(new URL("testing/index.js", root).href)) as typeof import("../src/testing/index.js")
