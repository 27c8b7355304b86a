#!/usr/bin/env bash
# Drives `tmdb-auth fake-server` with curl alone, as a test suite in any language would: approve a request token,
# make session/new answer 429, read the sessions back, move the fake's clock past a token's expiry.
# Run: bash examples/fake-server-control.sh   (TMDB_AUTH overrides the command, e.g. "node dist/cli/bin.js")
set -euo pipefail

out=$(mktemp)
${TMDB_AUTH:-npx tmdb-auth} fake-server --json >"$out" &
fake=$!
trap 'kill "$fake" 2>/dev/null; rm -f "$out"' EXIT
# Wait for its first line; if it exits first (a port in use, a missing build), say so and stop.
until [ -s "$out" ]; do
  kill -0 "$fake" 2>/dev/null || { echo "tmdb-auth fake-server exited before it was ready" >&2; exit 1; }
  sleep 0.1
done
line=$(head -n 1 "$out") # {"url":"http://127.0.0.1:PORT","access_token":"...","control":".../__fake",...}
field() { printf '%s' "$line" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
url=$(field url) control=$(field control) token=$(field access_token)
tmdb=(-s -H "Authorization: Bearer $token" -H "Content-Type: application/json")
check() { if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAILED: $1: expected $3, got $2" >&2; exit 1; fi; }

# A request token, approved as the user would approve it on TMDB's website.
request_token=$(curl "${tmdb[@]}" "$url/3/authentication/token/new" | sed -n 's/.*"request_token":"\([^"]*\)".*/\1/p')
curl -sf -X POST "$control/approve" -d "{\"request_token\": \"$request_token\"}" >/dev/null

# The next session/new answers 429 with Retry-After: 2; the one after creates the session.
curl -sf -X POST "$control/faults" \
  -d '{"route": "POST /3/authentication/session/new", "faults": [{"_tag": "RateLimited", "retryAfter": 2}]}' >/dev/null
status=$(curl "${tmdb[@]}" -o /dev/null -w '%{http_code}' -X POST "$url/3/authentication/session/new" \
  -d "{\"request_token\": \"$request_token\"}")
check "session/new is rate limited" "$status" 429
status=$(curl "${tmdb[@]}" -o /dev/null -w '%{http_code}' -X POST "$url/3/authentication/session/new" \
  -d "{\"request_token\": \"$request_token\"}")
check "session/new creates the session" "$status" 200

# The sessions, as the fake knows them (never an id): [{"username":"demo","created_at":"..."}]
sessions=$(curl -sf "$control/sessions")
check "one session, for demo" "$(printf '%s' "$sessions" | grep -o '"username":"demo"' | wc -l | tr -d ' ')" 1

# A new token, then 61 minutes of TMDB time: the token has expired (401, code 33).
request_token=$(curl "${tmdb[@]}" "$url/3/authentication/token/new" | sed -n 's/.*"request_token":"\([^"]*\)".*/\1/p')
curl -sf -X POST "$control/clock" -d '{"advance": "61 minutes"}' >/dev/null
answer=$(curl "${tmdb[@]}" -X POST "$url/3/authentication/token/validate_with_login" \
  -d "{\"username\": \"demo\", \"password\": \"demo-password\", \"request_token\": \"$request_token\"}")
check "the token expired after 61 minutes" "$(printf '%s' "$answer" | sed -n 's/.*"status_code":\([0-9]*\).*/\1/p')" 33
