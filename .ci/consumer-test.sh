#!/usr/bin/env bash
# The package as a user meets it. From a fresh clone of this repository, without building first: npm install and
# npm pack (prepack builds). Then, in empty projects, the README's install lines *as written in the README* (read
# from it), with the tarball in place of the package name:
# - Node: type-check test/consumer/consumer.ts with strict and exactOptionalPropertyTypes against the installed
#   .d.ts files, run it (both entry points, logins against FakeTmdb in memory, over a socket, under TestClock),
#   then `npx tmdb-auth --help` and `npx tmdb-auth demo`.
# - Browser: no @effect/platform-node is installed; the library and its testing entry import and log in against
#   the in-memory fake; the Node-only features say in one sentence what to install.
# (@types/ws, typescript and @types/node are the consumer's own dev tools: the types of
# @effect/platform-node-shared import ws, and skipLibCheck is off so that our own .d.ts files are checked too.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
  echo "note: the work tree has uncommitted changes; this test packs the committed HEAD, as a fresh clone has it"
fi
git clone --quiet "$root" "$work/clone"
cd "$work/clone"
npm install --no-audit --no-fund --loglevel=error
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
echo "packed $tarball ($(du -h "$work/$tarball" | cut -f1)) from a fresh clone at $(git rev-parse --short HEAD)"

version() { node -p "require('$root/node_modules/$1/package.json').version"; }
readme_line() { node "$root/bench/readme-install.mjs" "$1" | sed -E "s#\beffect-tmdb-auth(@[0-9]+)?( |$)#$work/$tarball\2#"; }
new_project() {
  mkdir "$work/$1"
  cd "$work/$1"
  printf '{ "name": "%s", "private": true, "type": "module" }\n' "$1" > package.json
}

# Node -----------------------------------------------------------------------------------------------------------
new_project node-app
line=$(readme_line node)
echo "\$ ${line/$work\//}"
bash -c "$line --no-audit --no-fund --loglevel=error"
# core/ is compiled into dist/core: no import of the installed package may leave it or miss its file.
node "$root/scripts/check-pack-imports.mjs" node_modules/effect-tmdb-auth
npm install --no-audit --no-fund --loglevel=error --save-dev "@types/node@$(version @types/node)" \
  "typescript@$(version typescript)" "@types/ws@^8"
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
    "outDir": "out"
  },
  "files": ["consumer.ts"]
}
JSON
cp "$root/test/consumer/consumer.ts" .
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
line=$(readme_line browser)
echo "\$ ${line/$work\//}"
bash -c "$line --no-audit --no-fund --loglevel=error"
if [ -e node_modules/@effect/platform-node ]; then echo "not ok - the browser install pulled @effect/platform-node"; exit 1; fi
if [ -e node_modules/@effect/cli ]; then echo "not ok - the browser install pulled @effect/cli"; exit 1; fi
echo "ok - the browser install has neither @effect/platform-node nor @effect/cli ($(npm ls --all --parseable | tail -n +2 | wc -l) packages)"
cp "$root/test/consumer/browser-consumer.mjs" .
node browser-consumer.mjs
if npx tmdb-auth --help > bin.log 2>&1; then echo "not ok - tmdb-auth ran without @effect/platform-node"; exit 1; fi
grep -q "needs @effect/platform-node" bin.log
echo "ok - without @effect/platform-node, tmdb-auth says in one sentence what to install"
