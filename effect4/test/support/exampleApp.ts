/**
 * `npm run example:web` as a child process, for the tests that drive it: started with an environment of the test's,
 * read until it prints its URL, stopped with Ctrl-C.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const repo = fileURLToPath(new URL("../..", import.meta.url))

export interface ExampleApp {
  readonly url: string
  /** Everything it printed so far (standard output and error). */
  readonly output: () => string
  readonly stop: () => Promise<void>
}

export const startExampleApp = async (env: Record<string, string> = {}): Promise<ExampleApp> => {
  const app = spawn(process.execPath, ["--import", "tsx", "examples/web-app.ts"], {
    cwd: repo,
    env: { PATH: process.env["PATH"] ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  app.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()))
  app.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()))
  for (let i = 0; i < 400 && !/Example app: (\S+)/.test(output) && app.exitCode === null; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const match = /Example app: (\S+)/.exec(output)
  if (match === null) {
    app.kill("SIGKILL")
    throw new Error(`the example app did not start: ${output}`)
  }
  return {
    url: match[1]!,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (app.exitCode !== null) return resolve()
        app.on("close", () => resolve())
        app.kill("SIGINT")
      })
  }
}
