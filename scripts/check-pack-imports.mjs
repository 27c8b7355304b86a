// `node scripts/check-pack-imports.mjs DIR`: every relative import of the installed package at DIR (its .js and .d.ts
// files under dist/) resolves to a file inside DIR. core/ is compiled into dist/core, which dist/src imports
// relatively: a file the tarball lacks, or a path that climbs out of the package, would fail only at a user's import.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"

const root = resolve(process.argv[2] ?? ".")
const files = []
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) walk(path)
    else if (/\.(js|d\.ts)$/.test(name)) files.push(path)
  }
}
walk(join(root, "dist"))
const specifier = /(?:from\s*|import\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g
const problems = []
let imports = 0
for (const file of files) {
  for (const [, spec] of readFileSync(file, "utf8").matchAll(specifier)) {
    imports += 1
    const target = resolve(dirname(file), spec)
    const inside = !relative(root, target).startsWith("..")
    // A .d.ts imports "./x.js" for the types of "./x.d.ts".
    const exists = existsSync(target) || (file.endsWith(".d.ts") && existsSync(target.replace(/\.js$/, ".d.ts")))
    if (!inside || !exists) {
      problems.push(`${relative(root, file)}: ${spec} (${inside ? "missing" : "outside the package"})`)
    }
  }
}
if (problems.length > 0) {
  console.error(`imports that leave the package or find no file:\n${problems.join("\n")}`)
  process.exit(1)
}
console.log(`${files.length} files, ${imports} relative imports, all inside the package`)
