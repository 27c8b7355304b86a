#!/usr/bin/env node
/**
 * The `tmdb-auth` executable's entry: loads the CLI, and when a peer dependency it runs on is not installed, says so
 * in one sentence (exit 2) instead of a module-resolution stack trace.
 */
const peers = ["@effect/platform-node", "effect"]

try {
  await import("./main.js")
} catch (error) {
  const message = error instanceof Error ? error.message : ""
  const missing = (error as { readonly code?: unknown }).code === "ERR_MODULE_NOT_FOUND"
    ? peers.find((name) => message.includes(`'${name}`) || message.includes(`"${name}`))
    : undefined
  if (missing === undefined) throw error
  process.stderr.write(
    `tmdb-auth: the command line needs ${missing}, which is not installed here: ` +
      "npm install effect@~4.1.5 @effect/platform-node@~4.1.5\n"
  )
  process.exit(2)
}
