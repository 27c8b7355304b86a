#!/usr/bin/env node
// What a user installs: the README's install lines (Node and browser), run as written in empty projects with the
// packed tarball in place of the package name; counts the installed packages and the size of node_modules. With
// `--baseline REF`, the package as it was at REF is packed and installed with the same lines, side by side.
//
//   node bench/footprint.mjs [--baseline <ref>]
import { execFileSync, execSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { installLines } from "./readme-install.mjs"

const args = process.argv.slice(2)
const at = args.indexOf("--baseline")
const baseline = at === -1 ? undefined : args[at + 1]
const root = resolve(import.meta.dirname, "..")
const work = mkdtempSync(join(tmpdir(), "footprint-"))
const quiet = { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" }

/** Packs the package at `dir` (prepack builds it when the package has one) and returns the tarball's path. */
const pack = (dir, label) => {
  const out = join(work, label)
  mkdirSync(out)
  const name = execFileSync("npm", ["pack", "--silent", "--pack-destination", out], { ...quiet, cwd: dir }).trim()
    .split("\n").pop()
  return join(out, name)
}

const packages = []
if (baseline !== undefined) {
  const tree = join(work, "baseline-tree")
  execFileSync("git", ["worktree", "add", "--detach", tree, baseline], { cwd: root, stdio: "ignore" })
  symlinkSync(join(root, "node_modules"), join(tree, "node_modules"))
  // Versions before 0.2 had no prepack: build first, as their CI did.
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
    cwd: tree
  })
  packages.push({ label: `effect-tmdb-auth at ${baseline}`, tarball: pack(tree, "baseline") })
  execFileSync("git", ["worktree", "remove", "--force", tree], { cwd: root, stdio: "ignore" })
}
packages.push({
  label: `effect-tmdb-auth ${JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version}, this tree`,
  tarball: pack(root, "current")
})

const lines = installLines(readFileSync(join(root, "README.md"), "utf8"))

const measure = (tarball, line, project) => {
  mkdirSync(project)
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }))
  const command = line.replace(/\beffect-tmdb-auth\b/, tarball)
  try {
    execSync(`${command} --no-audit --no-fund --loglevel=error`, { ...quiet, cwd: project, shell: "/bin/bash" })
  } catch (error) {
    return { error: String(error.stderr).split("\n").find((l) => /ERESOLVE|ERR!/.test(l)) ?? "install failed" }
  }
  const installed = execSync("npm ls --all --parseable", { ...quiet, cwd: project }).trim().split("\n").length - 1
  const bytes = Number(execSync("du -sb node_modules", { ...quiet, cwd: project }).split("\t")[0])
  const effectPackages = execSync("ls node_modules/@effect", { ...quiet, cwd: project }).trim().split("\n").join(", ")
  return { installed, megabytes: bytes / 1e6, effectPackages }
}

console.log(
  `npm ${execSync("npm --version", quiet).trim()}, node ${process.version}; the README's install lines, as written`
)
console.log("| package | user | packages installed | node_modules | @effect/* installed |")
console.log("|---|---|---|---|---|")
for (const { label, tarball } of packages) {
  for (const [user, line] of Object.entries(lines)) {
    const result = measure(tarball, line, join(work, `${label.replace(/\W+/g, "-")}-${user}`))
    console.log(
      result.error === undefined
        ? `| ${label} | ${user} | ${result.installed} | ${result.megabytes.toFixed(1)} MB | ${result.effectPackages} |`
        : `| ${label} | ${user} | failed: ${result.error} | | |`
    )
  }
}
console.log(`install lines: ${JSON.stringify(lines)}`)
rmSync(work, { recursive: true, force: true })
