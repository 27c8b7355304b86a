// Load generator for bench/fake-server.ts, run in its own process so that it does not share the server's
// event loop. Sends `total` requests with `concurrency` keep-alive connections and prints one JSON line.
import * as Http from "node:http"

const [url, total, concurrency, token] = [
  process.argv[2],
  Number(process.argv[3]),
  Number(process.argv[4]),
  process.argv[5]
]
const agent = new Http.Agent({ keepAlive: true, maxSockets: concurrency })
const target = new URL("/3/authentication/token/new", url)
const statuses = {}

const once = () =>
  new Promise((resolve, reject) => {
    const request = Http.request(target, { agent, headers: { authorization: `Bearer ${token}` } }, (response) => {
      response.resume()
      response.on("end", () => {
        statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1
        resolve()
      })
    })
    request.on("error", reject)
    request.end()
  })

let sent = 0
const worker = async () => {
  while (sent < total) {
    sent++
    await once()
  }
}

const started = process.hrtime.bigint()
await Promise.all(Array.from({ length: concurrency }, worker))
const seconds = Number(process.hrtime.bigint() - started) / 1e9
agent.destroy()
console.log(JSON.stringify({ requests: total, seconds, rps: total / seconds, statuses }))
