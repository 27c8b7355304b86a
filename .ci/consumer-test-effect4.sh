#!/usr/bin/env bash
# The 1.x line (effect4/, Effect 4) as a user meets it, on Node 22 (run through scripts/node22.mjs by .ci/run). From a
# fresh clone, without building first: npm install and `npm pack -w effect4` (prepack builds). Then, in empty
# projects, the README's Effect 4 install lines *as written in the README* (read from it), with the tarball in place
# of the package name:
# - Node: type-check effect4/test/consumer/consumer.ts (strict, exactOptionalPropertyTypes, skipLibCheck off) against
#   the installed .d.ts files and run it: both entry points, logins against FakeTmdb in memory and over a socket, a
#   TestClock test, and "Sign in with TMDB" through the web routes over a socket; then `npx tmdb-auth --help` and
#   `npx tmdb-auth demo`.
# - Browser: no @effect/platform-node is installed; a bundle built for the browser platform (esbuild, no Node module)
#   imports both entry points and logs in against the in-memory fake; the Node-only features say what to install.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
node -e 'const [a, b] = process.versions.node.split(".").map(Number); if (!(a > 22 || (a === 22 && b >= 19))) { console.error(`the 1.x consumer test needs Node >= 22.19 (this is ${process.version}): run it as node scripts/node22.mjs bash .ci/consumer-test-effect4.sh`); process.exit(1) }'
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
  echo "note: the work tree has uncommitted changes; this test packs the committed HEAD, as a fresh clone has it"
fi
git clone --quiet "$root" "$work/clone"
cd "$work/clone"
npm install --no-audit --no-fund --loglevel=error
tarball=$(npm pack -w effect4 --silent --pack-destination "$work" | tail -n 1)
echo "packed $tarball ($(du -h "$work/$tarball" | cut -f1)) from effect4/ of a fresh clone at $(git rev-parse --short HEAD), on Node $(node --version)"

version() { node -p "require('$root/node_modules/$1/package.json').version"; }
readme_line() { node "$root/bench/readme-install.mjs" "$1" | sed -E "s#\beffect-tmdb-auth(@[0-9]+)?( |$)#$work/$tarball\2#"; }
new_project() {
  mkdir "$work/$1"
  cd "$work/$1"
  printf '{ "name": "%s", "private": true, "type": "module" }\n' "$1" > package.json
}

# Node -----------------------------------------------------------------------------------------------------------
new_project node-app
line=$(readme_line node-effect4)
echo "\$ ${line/$work\//}"
bash -c "$line --no-audit --no-fund --loglevel=error"
installed=$(node -p 'require("effect/package.json").version')
case "$installed" in 4.1.*) ;; *) echo "not ok - the README's line installed effect $installed, not 4.1"; exit 1 ;; esac
node "$root/scripts/check-pack-imports.mjs" node_modules/effect-tmdb-auth
npm install --no-audit --no-fund --loglevel=error --save-dev "@types/node@^22" "typescript@$(version typescript)"
cat > tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "exactOptionalPropertyTypes": true,
    "noUncheckedIndexedAccess": true,
    "skipLibCheck": false,
    "types": ["node"],
    "lib": ["ES2022", "DOM", "DOM.Iterable"],
    "outDir": "out"
  },
  "files": ["consumer.ts"]
}
JSON
cp "$root/effect4/test/consumer/consumer.ts" .
npx tsc -p .
node out/consumer.js
npx tmdb-auth --help > help.txt
grep -q "USAGE" help.txt && ! grep -q $'\e\[' help.txt
echo "ok - npx tmdb-auth --help prints the usage, without colour codes when piped"
npx tmdb-auth demo > demo.log 2>&1 || { cat demo.log; exit 1; }
grep -q "✔ delete the session" demo.log
echo "ok - npx tmdb-auth demo runs the whole story"

# Browser --------------------------------------------------------------------------------------------------------
new_project browser-app
line=$(readme_line browser-effect4)
echo "\$ ${line/$work\//}"
bash -c "$line --no-audit --no-fund --loglevel=error"
if [ -e node_modules/@effect/platform-node ]; then echo "not ok - the browser install pulled @effect/platform-node"; exit 1; fi
echo "ok - the browser install has no @effect/platform-node ($(npm ls --all --parseable | tail -n +2 | wc -l) packages)"
cp "$root/effect4/test/consumer/browser-consumer.mjs" .
node browser-consumer.mjs
npm install --no-audit --no-fund --loglevel=error --save-dev "esbuild@$(version esbuild)"
npx esbuild browser-consumer.mjs --bundle --platform=browser --format=esm --target=es2022 --outfile=bundle.mjs --log-level=warning
if grep -qE 'from "node:|require\("node:' bundle.mjs; then echo "not ok - the browser bundle imports a Node module"; exit 1; fi
node bundle.mjs
echo "ok - the browser bundle (esbuild, platform browser) runs the same checks"
if npx tmdb-auth --help > bin.log 2>&1; then echo "not ok - tmdb-auth ran without @effect/platform-node"; exit 1; fi
grep -q "needs @effect/platform-node" bin.log
echo "ok - without @effect/platform-node, tmdb-auth says in one sentence what to install"
