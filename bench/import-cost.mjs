#!/usr/bin/env node
// What `import "effect-tmdb-auth"` costs: wall time of the import and live heap after a GC, each in a fresh
// `node` process, runs interleaved so that both builds see the same machine. Compares the current build (dist/)
// with the build of a git ref (`--baseline REF`, built in a temporary worktree), and with an empty process.
//
//   npm run build && node bench/import-cost.mjs --baseline <ref> [--runs 9]
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const at = args.indexOf(name)
  return at === -1 ? fallback : args[at + 1]
}
const runs = Number(option("--runs", "9"))
const baseline = option("--baseline", undefined)
const root = resolve(import.meta.dirname, "..")

const targets = [{ label: "node, nothing imported", entry: undefined }]
let worktree
if (baseline !== undefined) {
  worktree = mkdtempSync(join(tmpdir(), "import-cost-"))
  execFileSync("git", ["worktree", "add", "--detach", worktree, baseline], { cwd: root, stdio: "ignore" })
  symlinkSync(join(root, "node_modules"), join(worktree, "node_modules"))
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
    cwd: worktree,
    stdio: "inherit"
  })
  targets.push({
    label: `effect-tmdb-auth at ${baseline}`,
    entry: join(worktree, existsSync(join(worktree, "dist/src/index.js")) ? "dist/src/index.js" : "dist/index.js")
  })
}
const current = join(root, "dist/src/index.js")
if (!existsSync(current)) throw new Error("dist/src/index.js is missing: run `npm run build` first")
targets.push({ label: "effect-tmdb-auth, this build", entry: current })

const probe = (entry) => `
const started = performance.now()
${entry === undefined ? "" : `await import(${JSON.stringify(pathToFileURL(entry).href)})`}
const millis = performance.now() - started
globalThis.gc(); globalThis.gc()
console.log(JSON.stringify({ millis, heap: process.memoryUsage().heapUsed }))
`

const measure = (entry) =>
  JSON.parse(
    execFileSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", probe(entry)], { encoding: "utf8" })
  )

const samples = targets.map(() => [])
for (let run = 0; run < runs; run++) {
  targets.forEach((target, i) => samples[i].push(measure(target.entry)))
}

const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}
const stats = (xs, digits) =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`

console.log(`node ${process.version}, ${runs} fresh processes per row, interleaved; median (min-max)`)
console.log("| import | time (ms) | live heap after GC (MB) |")
console.log("|---|---|---|")
targets.forEach((target, i) => {
  const millis = samples[i].map((s) => s.millis)
  const heap = samples[i].map((s) => s.heap / 1e6)
  console.log(`| ${target.label} | ${target.entry === undefined ? "-" : stats(millis, 0)} | ${stats(heap, 1)} |`)
})

if (worktree !== undefined) {
  execFileSync("git", ["worktree", "remove", "--force", worktree], { cwd: root, stdio: "ignore" })
  rmSync(worktree, { recursive: true, force: true })
}
