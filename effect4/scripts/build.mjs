// `npm run build` (and `prepack`): a clean dist/ with the library (tsc: ESM, .d.ts, source maps) and the `tmdb-auth`
// executable, bundled into one file, so that `npx tmdb-auth` works wherever the package and its peers are installed.
// On Effect 4 the CLI's own dependency is `effect/cli`, inside `effect` itself: nothing else to bundle. The peers stay
// imports: the executable runs on the app's own `effect` and `@effect/platform-node`.
import { build } from "esbuild"
import { execFileSync } from "node:child_process"
import { rmSync } from "node:fs"
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)
rmSync("dist", { recursive: true, force: true })
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
  stdio: "inherit"
})

const peers = ["effect", "@effect/platform-node"]
await build({
  entryPoints: ["src/cli/main.ts"],
  outfile: "dist/cli/main.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  external: peers.flatMap((name) => [name, `${name}/*`]),
  logLevel: "warning"
})
// The entry npm links as `tmdb-auth`: it loads main.js and names a missing peer in one sentence.
await build({
  entryPoints: ["src/cli/bin.ts"],
  outfile: "dist/cli/bin.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  external: ["./main.js"],
  logLevel: "warning"
})
