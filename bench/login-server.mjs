// The TMDB stand-in of bench/login.ts, in its own process: a bare node:http server answering the three requests of
// a v3 password login (token/new, validate_with_login, session/new) with TMDB's bodies, as cheaply as possible so
// that the clients, not the server, are measured. Sends {"url"} over IPC once listening.
import { randomBytes } from "node:crypto"
import { createServer } from "node:http"

const expiresAt = () => `${new Date(Date.now() + 3_600_000).toISOString().slice(0, 19).replace("T", " ")} UTC`
const token = () => randomBytes(20).toString("hex")

const server = createServer((request, response) => {
  let body = ""
  request.on("data", (chunk) => (body += chunk))
  request.on("end", () => {
    const path = request.url.split("?")[0]
    let answer
    if (request.method === "GET" && path === "/3/authentication/token/new") {
      answer = { success: true, expires_at: expiresAt(), request_token: token() }
    } else if (request.method === "POST" && path === "/3/authentication/token/validate_with_login") {
      answer = { success: true, expires_at: expiresAt(), request_token: JSON.parse(body).request_token }
    } else if (request.method === "POST" && path === "/3/authentication/session/new") {
      answer = { success: true, session_id: token() }
    } else {
      response.writeHead(404, { "content-type": "application/json" })
      return response.end(JSON.stringify({ success: false, status_code: 34, status_message: "Not found." }))
    }
    response.writeHead(200, { "content-type": "application/json;charset=utf-8" })
    response.end(JSON.stringify(answer))
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, "127.0.0.1", () => process.send({ url: `http://127.0.0.1:${server.address().port}` }))
process.on("message", (message) => message === "stop" && server.close(() => process.exit(0)))
