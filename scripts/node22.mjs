// `node scripts/node22.mjs COMMAND ARGS...`: runs COMMAND with a Node that can run the 1.x line (effect4/, Effect 4.1)
// first on the PATH: `npm run test:effect4` (part of `npm test`), `npm run example:web:effect4` and `npm run bench` go
// through it. Effect 4's @effect/platform-node (undici 8) and vitest 5 need Node >= 22.19. On an older Node (the
// machine's Node 20) Node 22 is provisioned from the npm registry's prebuilt binary package
// (`node-<platform>-<arch>`), installed into a folder of its own (.ci/.node/22, ignored by git), as redis-server and
// chromium are provisioned for the tests; where that cannot be done, the run stops with one sentence.
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { delimiter, join } from "node:path"

const NODE_22 = "22.23.5"
const [major, minor] = process.versions.node.split(".").map(Number)
const recentEnough = major > 22 || (major === 22 && minor >= 19)
const root = join(import.meta.dirname, "..")

const fail = (sentence) => {
  console.error(`node22: ${sentence}`)
  process.exit(1)
}

let path = process.env["PATH"] ?? ""
if (!recentEnough) {
  const pkg = `node-${process.platform}-${process.arch}`
  const prefix = join(root, ".ci", ".node", "22")
  const bin = join(prefix, "node_modules", pkg, "bin")
  const version = () => spawnSync(join(bin, "node"), ["--version"], { encoding: "utf8" }).stdout?.trim()
  if (!existsSync(join(bin, "node")) || version() !== `v${NODE_22}`) {
    console.log(`node22: Node ${process.versions.node} is too old for Effect 4; installing ${pkg}@${NODE_22}`)
    const install = spawnSync(
      "npm",
      ["install", "--prefix", prefix, "--no-save", "--no-audit", "--no-fund", "--loglevel=error", `${pkg}@${NODE_22}`],
      { stdio: "inherit" }
    )
    if (install.status !== 0 || version() !== `v${NODE_22}`) {
      fail(
        `the Effect 4 line needs Node >= 22.19 and ${pkg}@${NODE_22} could not be installed from the npm registry: ` +
          `run it on Node 22 or 24.`
      )
    }
  }
  path = `${bin}${delimiter}${path}`
}
const [command, ...args] = process.argv.slice(2)
if (command === undefined) fail("name the command to run, e.g. node scripts/node22.mjs npm test -w effect4")
const env = { ...process.env, PATH: path }
const node = spawnSync("node", ["--version"], { encoding: "utf8", env }).stdout.trim()
console.log(`== ${[command, ...args].join(" ")} on Node ${node.slice(1)}`)
const run = spawnSync(command, args, { stdio: "inherit", env })
process.exit(run.status ?? 1)
