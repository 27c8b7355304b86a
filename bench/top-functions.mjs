// Summarises a V8 .cpuprofile by self time: `node bench/top-functions.mjs <file.cpuprofile> [N]`.
// Prints the top N functions (default 30) with their share of samples, and the share per package.
import { readFileSync } from "node:fs"

const [file, count = "30"] = process.argv.slice(2)
if (file === undefined) throw new Error("usage: node bench/top-functions.mjs <file.cpuprofile> [N]")
const profile = JSON.parse(readFileSync(file, "utf8"))
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const self = new Map()
for (const id of profile.samples) self.set(id, (self.get(id) ?? 0) + 1)
const total = profile.samples.length
const byFunction = new Map()
const byPackage = new Map()
for (const [id, hits] of self) {
  const { functionName, url, lineNumber } = byId.get(id).callFrame
  const where = url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/(src|bench)\//, "$1/")
  const key = `${functionName || "(anonymous)"} ${where}:${lineNumber + 1}`
  byFunction.set(key, (byFunction.get(key) ?? 0) + hits)
  const pkg = url === "" ? functionName : /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1] ??
    (url.startsWith("node:") ? "node internals" : url.includes("/src/") ? "effect-tmdb-auth" : url)
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + hits)
}
const show = (map, n) =>
  [...map].sort((a, b) => b[1] - a[1]).slice(0, n).forEach(([key, hits]) =>
    console.log(`${((100 * hits) / total).toFixed(1).padStart(5)}%  ${key}`)
  )
console.log(`${total} samples`)
show(byPackage, 12)
console.log("")
show(byFunction, Number(count))
