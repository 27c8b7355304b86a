/**
 * The bookkeeping of the cap on requests in flight (docs/admission.md, rule 1): free permits and a FIFO of waiters,
 * each released permit handed to exactly one of them. Plain state: each line's gate waits on it in its own way.
 */

export interface Waiter {
  readonly grant: () => void
  state: "waiting" | "granted" | "cancelled"
}

/**
 * Free permits and a FIFO of waiters. (Effect's `Semaphore` wakes every waiter on each release, and each re-queues:
 * with thousands of queued calls that is quadratic work and garbage, measured at 3 GB of heap for 3,000 calls.) A
 * waiter is cancelled by setting its state to `"cancelled"` while it waits; after the grant, the permit is its own.
 */
export class PermitQueue {
  private free: number
  private queue: Array<Waiter> = []
  private head = 0

  constructor(permits: number) {
    this.free = permits
  }

  /** How many calls wait for a permit. */
  get waiting(): number {
    return this.queue.length - this.head
  }

  /** Takes a permit if one is free, without waiting. */
  tryTake(): boolean {
    if (this.free === 0) return false
    this.free -= 1
    return true
  }

  /** Queues `grant`, called with the permit when it comes (inside the `release` that hands it over). */
  enqueue(grant: () => void): Waiter {
    const waiter: Waiter = { state: "waiting", grant }
    this.queue.push(waiter)
    return waiter
  }

  /** Gives a permit back: to the first waiter still waiting, else to the pool. */
  release(): void {
    while (this.head < this.queue.length) {
      const waiter = this.queue[this.head]!
      this.queue[this.head] = undefined as unknown as Waiter
      this.head += 1
      if (waiter.state === "waiting") {
        waiter.state = "granted"
        this.compact()
        return waiter.grant()
      }
    }
    this.compact()
    this.free += 1
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
  }
}
