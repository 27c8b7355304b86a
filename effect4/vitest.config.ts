import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests and examples import the package by name, as users do.
    alias: [
      { find: /^effect-tmdb-auth\/testing$/, replacement: src("testing/index.ts") },
      { find: /^effect-tmdb-auth\/web$/, replacement: src("web/index.ts") },
      { find: /^effect-tmdb-auth$/, replacement: src("index.ts") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    // Installs the real components the tests need (redis-server, chromium, openssl) where missing, or stops with
    // one sentence.
    globalSetup: ["test/support/provision.ts"]
  }
})
