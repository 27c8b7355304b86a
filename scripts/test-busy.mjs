// `npm run test:busy`: the test suite on a busy machine, as users run it on loaded laptops. Builds once, starts two
// CPU-bound processes (killed by their ids at the end, whatever happens), runs the suite 3 times and stops at the
// first failure. Not part of CI (it takes three suite runs); run it before changing a timing assertion.
import { execFileSync, spawn } from "node:child_process"
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)
const runs = Number(process.env["TEST_BUSY_RUNS"] ?? 3)
execFileSync("npm", ["run", "build"], { stdio: "inherit" })

const burn = "let x = 0; for (;;) { x = (x * 31 + 1) % 1000003 }"
const burners = [0, 1].map(() => spawn(process.execPath, ["-e", burn], { stdio: "ignore" }))
const stop = () => {
  for (const burner of burners) if (burner.exitCode === null) burner.kill("SIGKILL")
}
process.on("exit", stop)
process.on("SIGINT", () => process.exit(130))
console.log(`test:busy: 2 CPU burners (pids ${burners.map((b) => b.pid).join(", ")}), ${runs} runs of the suite`)

let failed = 0
for (let run = 1; run <= runs && failed === 0; run++) {
  console.log(`test:busy: run ${run} of ${runs}`)
  try {
    execFileSync(process.execPath, [require.resolve("vitest/vitest.mjs"), "run"], { stdio: "inherit" })
  } catch {
    failed = run
  }
}
stop()
console.log(failed === 0 ? `test:busy: ${runs} runs passed` : `test:busy: run ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
