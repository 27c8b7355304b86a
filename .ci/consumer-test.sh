#!/usr/bin/env bash
# Packs the package, installs the tarball into a fresh project (no path aliases, no access to src/), type-checks
# test/consumer/consumer.ts there with strict and exactOptionalPropertyTypes, and runs it. (@types/ws: the types of
# @effect/platform-node-shared import ws, and skipLibCheck is off so that our own .d.ts files are checked too.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$root"
npm run build --silent
tarball=$(npm pack --pack-destination "$work" --silent 2>/dev/null | tail -n 1)
echo "packed $tarball ($(du -h "$work/$tarball" | cut -f1))"

version() { node -p "require('$root/node_modules/$1/package.json').version"; }
mkdir "$work/consumer"
cd "$work/consumer"
cat > package.json <<'JSON'
{ "name": "consumer", "private": true, "type": "module" }
JSON
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
npm install --no-audit --no-fund --loglevel=error "$work/$tarball" \
  "effect@$(version effect)" "@effect/platform@$(version @effect/platform)" \
  "@effect/platform-node@$(version @effect/platform-node)" "@types/node@$(version @types/node)" \
  "typescript@$(version typescript)" "@types/ws@^8"
cp "$root/test/consumer/consumer.ts" .
npx tsc -p .
node out/consumer.js
# The bin, as installed from the tarball: the offline demo must run to the end.
./node_modules/.bin/tmdb-auth demo > demo.log 2>&1 || { cat demo.log; exit 1; }
grep -q "✔ delete the session" demo.log
echo "ok - the installed tmdb-auth bin runs the demo"
