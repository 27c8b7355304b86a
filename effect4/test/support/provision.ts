/**
 * vitest globalSetup: the real components the tests run against (Debian's redis-server and chromium) are installed when missing
 * and the machine allows it (root with apt-get); otherwise the run stops with one sentence naming the command.
 * Nothing is skipped silently.
 */
import { execFileSync, spawnSync } from "node:child_process"

const has = (command: string) => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0

/** Makes sure `command` exists, installing Debian's `pkg` with apt-get as root when it does not. */
export const ensure = (command: string, pkg: string): void => {
  if (has(command)) return
  const root = typeof process.getuid === "function" && process.getuid() === 0
  if (!root || !has("apt-get")) {
    throw new Error(
      `The tests need ${command}, which is not installed, and this user cannot install it: run \`sudo apt-get install -y ${pkg}\` (Debian/Ubuntu) and run npm test again.`
    )
  }
  console.log(`provisioning ${command}: apt-get install -y ${pkg}`)
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env, timeout: 300_000 })
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", pkg], {
    stdio: "inherit",
    env,
    timeout: 600_000
  })
  if (!has(command)) throw new Error(`apt-get installed ${pkg}, but ${command} is still not on the PATH.`)
}

export default function setup(): void {
  ensure("redis-server", "redis-server")
  // The browser test drives Debian's Chromium with playwright-core (no browser download works offline).
  if (process.env["CHROMIUM_PATH"] === undefined) ensure("chromium", "chromium")
  // The https browser test makes its certificate for *.example.test with openssl.
  ensure("openssl", "openssl")
}
