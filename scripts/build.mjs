// `npm run build` (and `prepack`): a clean dist/ with the library (tsc: ESM, .d.ts, source maps) and the `tmdb-auth`
// executable, bundled with the CLI's own dependencies inside (@effect/cli, @effect/printer, @effect/printer-ansi
// and theirs), so that installing the library never installs them while `npx tmdb-auth` works wherever the package
// and its peers are installed. The peers stay imports: the executable runs on the app's own `effect`,
// `@effect/platform` and `@effect/platform-node`.
import { build } from "esbuild"
import { execFileSync } from "node:child_process"
import { rmSync } from "node:fs"
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)
rmSync("dist", { recursive: true, force: true })
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
  stdio: "inherit"
})

const peers = ["effect", "@effect/platform", "@effect/platform-node"]
await build({
  entryPoints: ["src/cli/main.ts"],
  outfile: "dist/cli/main.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: peers.flatMap((name) => [name, `${name}/*`]),
  // The bundled CommonJS dependencies (ini, toml, yaml) may call `require` for Node's built-ins.
  banner: {
    js:
      "import { createRequire as __createRequire } from \"node:module\"; const require = __createRequire(import.meta.url);"
  },
  logLevel: "warning"
})
// The entry npm links as `tmdb-auth`: it loads main.js and names a missing peer in one sentence.
await build({
  entryPoints: ["src/cli/bin.ts"],
  outfile: "dist/cli/bin.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["./main.js"],
  logLevel: "warning"
})
