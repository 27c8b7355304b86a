import { describe, expect, it } from "vitest"
import { PermitQueue } from "../permitQueue.js"

describe("PermitQueue", () => {
  it("hands out free permits, then queues; each release grants the first waiter still waiting, in order", () => {
    const queue = new PermitQueue(2)
    expect(queue.tryTake()).toBe(true)
    expect(queue.tryTake()).toBe(true)
    expect(queue.tryTake()).toBe(false)
    const granted: Array<string> = []
    queue.enqueue(() => granted.push("a"))
    const b = queue.enqueue(() => granted.push("b"))
    queue.enqueue(() => granted.push("c"))
    expect(queue.waiting).toBe(3)
    b.state = "cancelled"
    queue.release()
    queue.release()
    expect(granted).toEqual(["a", "c"])
    // Nobody waits: the permit goes back to the pool.
    queue.release()
    expect(queue.tryTake()).toBe(true)
    expect(queue.tryTake()).toBe(false)
  })

  it("stays bounded over many waiters (the queue is compacted as it drains)", () => {
    const queue = new PermitQueue(0)
    let granted = 0
    for (let i = 0; i < 10_000; i++) queue.enqueue(() => granted++)
    for (let i = 0; i < 10_000; i++) queue.release()
    expect(granted).toBe(10_000)
    expect(queue.waiting).toBe(0)
  })
})
