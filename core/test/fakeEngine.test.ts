import { describe, expect, it } from "vitest"
import { FakeEngine, type Outcome, type Step } from "../fake/engine.js"
import { defaults } from "../fake/state.js"

const bearer = { authorization: `Bearer ${defaults.accessToken}` }
const request = (method: string, path: string, body?: unknown) => ({
  method,
  url: new URL(`http://fake${path}`),
  headers: bearer,
  body: body === undefined ? "" : JSON.stringify(body)
})

/** Answers at once (no delay, no route of the app's own). */
const answer = <H>(step: Step<H>): Outcome => {
  if (step._tag !== "Answer") throw new Error(`expected an answer, got ${step._tag}`)
  return step.outcome
}
const json = (outcome: Outcome) => {
  if (outcome._tag !== "Respond") throw new Error("expected a response")
  return { status: outcome.status, body: JSON.parse(outcome.body) as Record<string, unknown> }
}

const engine = (options: Partial<ConstructorParameters<typeof FakeEngine<string>>[0]> = {}) =>
  new FakeEngine<string>({ random: () => () => 0.5, ...options })

describe("FakeEngine", () => {
  it("logs in: request token, validate with login, session; the session is live until deleted", () => {
    const fake = engine()
    const token = json(answer(fake.handle(request("GET", "/3/authentication/token/new"), 0))).body["request_token"]
    const login = { username: "demo", password: "demo-password", request_token: token }
    expect(json(answer(fake.handle(request("POST", "/3/authentication/token/validate_with_login", login), 1))).status)
      .toBe(200)
    const session = json(
      answer(fake.handle(request("POST", "/3/authentication/session/new", { request_token: token }), 2))
    )
    expect(session.status).toBe(200)
    expect(fake.state.liveSessions()).toHaveLength(1)
    const id = session.body["session_id"]
    expect(json(answer(fake.handle(request("DELETE", "/3/authentication/session", { session_id: id }), 3))).status)
      .toBe(200)
    expect(fake.state.liveSessions()).toEqual([])
    expect(fake.requests.map((r) => r.status)).toEqual([200, 200, 200, 200])
  })

  it("a request token expires after 60 minutes of the time passed in, and the control offset counts", () => {
    const fake = engine()
    const token = json(answer(fake.handle(request("GET", "/3/authentication/token/new"), 0))).body["request_token"]
    fake.advanceClock(60 * 60 * 1000)
    const login = { username: "demo", password: "demo-password", request_token: token }
    const refused = json(answer(fake.handle(request("POST", "/3/authentication/token/validate_with_login", login), 0)))
    expect(refused).toMatchObject({ status: 401, body: { status_code: 33 } })
  })

  it("a scripted delay is a step the caller waits out, then resumes with its clock; a reset drops no answer", () => {
    const fake = engine()
    fake.fail("GET /3/authentication/token/new", [{ _tag: "Delay", millis: 1500 }, { _tag: "ConnectionReset" }])
    const step = fake.handle(request("GET", "/3/authentication/token/new"), 0)
    expect(step._tag).toBe("Delay")
    if (step._tag !== "Delay") return
    expect(step.millis).toBe(1500)
    expect(json(answer(step.resume(1500))).status).toBe(200)
    expect(answer(fake.handle(request("GET", "/3/authentication/token/new"), 2000))).toEqual({ _tag: "Reset" })
    expect(fake.counters).toContainEqual({ route: "GET /3/authentication/token/new", status: 0, count: 1 })
  })

  it("random faults come from the generator passed in, per its seed", () => {
    const seeds: Array<number> = []
    const fake = engine({
      faults: { seed: 7, unavailable: 1 },
      random: (seed) => {
        seeds.push(seed)
        return () => 0.25
      }
    })
    expect(json(answer(fake.handle(request("GET", "/3/authentication"), 0)))).toMatchObject({ status: 503 })
    expect(seeds).toContain(7)
  })

  it("a route of the app's own is a step: the caller runs its handler and hands the response back", () => {
    const fake = engine({ routes: { "GET /3/account/:id/lists": "lists handler" } })
    const step = fake.handle(request("GET", "/3/account/1000/lists"), 5)
    expect(step._tag).toBe("Custom")
    if (step._tag !== "Custom") return
    expect(step.handler).toBe("lists handler")
    expect(step.request.params).toEqual({ id: "1000" })
    expect(step.state.nowMillis).toBe(5)
    expect(json(step.resume({ body: { results: [] } }))).toEqual({ status: 200, body: { results: [] } })
  })

  it("the rate limit answers 429 with Retry-After past `requests` in the window", () => {
    const fake = engine({ rateLimit: { requests: 2, windowMillis: 1000 } })
    const statuses = [0, 1, 2].map((t) => json(answer(fake.handle(request("GET", "/3/authentication"), t))).status)
    expect(statuses).toEqual([200, 200, 429])
    expect(json(answer(fake.handle(request("GET", "/3/authentication"), 1000))).status).toBe(200)
  })
})
