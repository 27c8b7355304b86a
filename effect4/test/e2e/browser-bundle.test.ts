/**
 * The package in a browser app: esbuild bundles a FetchHttpClient login for `platform: "browser"` from the built
 * dist/ (what npm installs), with `@effect/platform-node` out of reach. The bundle must hold no Node module, and it
 * must work: run as-is (Node has `fetch`) against FakeTmdb.serve on 127.0.0.1, it logs in and out.
 */
import { Effect, Exit, Scope } from "effect"
import { build } from "esbuild"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { FakeTmdbServer } from "../../src/testing/index.js"
import { FakeTmdb } from "../../src/testing/index.js"

const root = fileURLToPath(new URL("../..", import.meta.url))

let scope: Scope.Closeable
let server: FakeTmdbServer
let bundle: string

beforeAll(async () => {
  scope = await Effect.runPromise(Scope.make())
  server = await Effect.runPromise(FakeTmdb.serve().pipe(Scope.provide(scope)))
  const result = await build({
    entryPoints: [join(root, "test/fixtures/browser-login.ts")],
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    logLevel: "silent",
    alias: { "effect-tmdb-auth": join(root, "dist/src/index.js") },
    // A browser app does not install the optional Node peer: make sure nothing reaches for it.
    plugins: [{
      name: "no-platform-node",
      setup: (build) => {
        build.onResolve({ filter: /^@effect\/platform-node/ }, (args) => ({
          errors: [{ text: `the browser bundle imports ${args.path}` }]
        }))
      }
    }]
  })
  bundle = result.outputFiles[0]!.text
}, 60_000)

afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

describe("a browser bundle of a FetchHttpClient login", () => {
  it("contains no node: import and no require (and, by the plugin above, no import of @effect/platform-node)", () => {
    expect(bundle.length).toBeGreaterThan(0)
    // Effect 4's core looks up `process?.getBuiltinModule?.("node:async_hooks")` (undefined in a browser): a guarded
    // lookup at run time, not an import. Every other mention of a node: module fails the test, as before.
    const withoutGuardedLookups = bundle.replaceAll(/process\?\.getBuiltinModule\?\.\(["'`]node:[a-z_]+["'`]\)/g, "")
    expect(withoutGuardedLookups).not.toMatch(/["'`]node:/)
    expect(bundle).not.toMatch(/\brequire\s*\(/)
    expect(bundle).not.toMatch(/\bimport\s*\(\s*["'`]/)
    expect(bundle).not.toMatch(/^\s*import\b/m)
  })

  for (const transport of ["FetchHttpClient", "layerFetch"] as const) {
    it(`logs in and out against FakeTmdb.serve when run (${transport})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "browser-bundle-"))
      const file = join(dir, "bundle.mjs")
      writeFileSync(file, bundle)
      const { login } = await import(pathToFileURL(file).href) as typeof import("../fixtures/browser-login.js")
      const length = await login({
        baseUrl: server.url,
        accessToken: FakeTmdb.defaults.accessToken,
        username: FakeTmdb.defaults.user.username,
        password: FakeTmdb.defaults.user.password,
        transport
      })
      expect(length).toBe(40)
      expect(await Effect.runPromise(server.sessions)).toHaveLength(0)
    }, 20_000)
  }
})
