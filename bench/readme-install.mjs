// The README's install lines, read from README.md so that the consumer test and the footprint benchmark run exactly
// what a user copies: the `npm install effect-tmdb-auth ...` line of each fenced block marked `<!-- install:NAME -->`.
export const installLines = (readme) => {
  const lines = {}
  for (const match of readme.matchAll(/<!-- install:([\w-]+) -->\s*```sh\n([^\n]*)\n/g)) {
    const line = match[2].replace(/\s+#.*$/, "").trim()
    if (!/^npm install effect-tmdb-auth(@\d+)? /.test(line)) {
      throw new Error(`README install:${match[1]} does not start with "npm install effect-tmdb-auth[@MAJOR]": ${line}`)
    }
    lines[match[1]] = line
  }
  for (const name of ["node", "browser", "node-effect4", "browser-effect4"]) {
    if (lines[name] === undefined) {
      throw new Error(
        `README.md must mark its install lines with <!-- install:${name} --> (Node and browser, each line)`
      )
    }
  }
  return lines
}

// `node bench/readme-install.mjs node` prints one line, for shell scripts.
if (process.argv[1] === import.meta.filename) {
  const { readFileSync } = await import("node:fs")
  const name = process.argv[2]
  const lines = installLines(readFileSync(new URL("../README.md", import.meta.url), "utf8"))
  if (lines[name] === undefined) throw new Error(`no README install line named ${name}`)
  console.log(lines[name])
}
