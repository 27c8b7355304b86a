/**
 * The learned rate of admission control (docs/admission.md, rules 2-5): the rate TMDB is willing to answer, learned from
 * its 429s, with 429s that are noise told apart from a limit. Pure state over millisecond timestamps: the caller passes
 * the time (from Effect's `Clock` in both lines), nothing here reads a clock or schedules anything.
 */

/** How an exchange ended, for admission: answered, or a 429 with the pause it asks for (its capped `Retry-After`). */
export type Outcome =
  | { readonly _tag: "Answered" }
  | { readonly _tag: "RateLimited"; readonly retryAfterMillis: number }

/** The learned rate starts this far below the success rate observed when the limit was hit (30 ms of jitter a second). */
export const LEARN_FACTOR = 0.97
/** The share of 429s is judged over blocks of at least this many answers (429s included) and one second. */
export const BLOCK_ANSWERS = 40
const BLOCK_MILLIS = 1000
/** A share of 429s over this is a limit, whatever the noise floor (several processes on one IP, say). */
export const LIMIT_SHARE = 0.25
/** A share of 429s at least this far above the noise floor can be a limit... */
const MIN_MARGIN = 0.02
/**
 * ...when noise alone would give that many 429s in fewer than this share of blocks (the binomial tail at the noise
 * floor): a limit then, one false alarm in hours. (3σ, a normal approximation, gave a false limit every few seconds
 * at 400 answers a second and 5% noise: the tail of a small share is longer than a normal one.)
 */
const LIMIT_ODDS = 1e-5
/** A probe above the learned rate is taken back on weaker evidence (it costs no pause): this tail. */
const PROBE_ODDS = 0.05
/** The noise assumed by the tail test before it is measured, and at least (a share of 0 makes any 429 a miracle). */
const ASSUMED_NOISE = 0.05
const MIN_NOISE = 0.01
/** The noise floor is an EWMA of the steady blocks' shares, with this weight, capped (then LIMIT_SHARE decides). */
const NOISE_WEIGHT = 0.25
const MAX_NOISE = 0.2
/** Below this noise floor, 429s are rare enough that a lone one tells something (a probe went too far). */
const QUIET_NOISE = 0.01
/** 429s in a row that confirm a limit: at least 3, more when the noise floor makes runs likely (< 1 in a million). */
const MIN_RUN = 3
const RUN_ODDS = 1e-6
/** A provisional rate (set by a first 429 while nothing is known) lasts this many answers unless confirmed. */
const PROVISIONAL_ANSWERS = 10
/** Below this share of the ceiling the rate recovers quickly (+10% a second), above it slowly (+1%). */
const RECOVERY_BAND = 0.9
/** "Sustained success": this long without a confirmed limit (and, when 429s are rare, without any) before the rate goes up. */
const SUSTAINED_MILLIS = 5000
const MIN_RATE = 1
const BUCKET_MILLIS = 100
const BUCKETS = 10

/**
 * The rate TMDB is willing to answer, learned from its 429s: additive-increase/multiplicative-decrease around a
 * ceiling (the success rate seen when the limit was last hit), with 429s that are not a limit (noise: another process
 * on the same IP, a CDN edge, a hiccup) told apart from those that are. Pure state over millisecond timestamps the
 * caller passes; docs/admission.md states the rules.
 */
export class LearnedRate {
  /** Requests per second, or undefined while no limit is known (then nothing is paced). */
  rate: number | undefined = undefined
  /** The success rate observed when the limit was last hit. */
  ceiling = 0
  /** An explicit limit paces the requests: a first 429 then sets no provisional rate. */
  explicitLimit = false
  pausedUntil = 0
  /**
   * The share of 429s that is noise: measured over blocks in which the rate was steady (not raised, not above the
   * learned rate, no limit confirmed), as an EWMA; undefined until a first block is measured.
   */
  noise: number | undefined = undefined
  /** How many limits were confirmed (for tests and the benchmark's diagnostics). */
  confirmations = 0
  private nextSlot = 0
  private decreaseLockedUntil = 0
  private lastConfirmedAt = -Infinity
  private lastProbeLimitedAt = -Infinity
  /** When the last pause this process took ended (or ends). */
  private pauseEnded = -Infinity
  private periodStart = 0
  private waitedThisPeriod = false
  private run = 0
  private lastRetryAfter = 1000
  /** The rate a first 429 set provisionally, with the answers it has left to be confirmed. */
  private provisional: { readonly previous: number | undefined; answersLeft: number } | undefined = undefined
  private readonly block = { answered: 0, limited: 0, unsteady: false, startedAt: 0 }
  private readonly answered = new Array<number>(BUCKETS).fill(0)
  private bucketAt = 0

  /**
   * When the next request may be sent: after any pause, and, once a rate is known, one interval after the previous
   * send. Nothing is reserved ahead: each fiber asks when it wakes, and the first to find the time come takes it.
   */
  nextSendAt(now: number): number {
    const start = Math.max(now, this.pausedUntil)
    return this.rate === undefined ? start : Math.max(start, this.nextSlot)
  }

  /**
   * Takes the send time that has come (`nextSendAt(now) <= now`). A send a little late (within one interval) keeps
   * the schedule, so timer lateness does not slow the rate; after a longer stall (GC, a busy CPU) the schedule starts
   * again from now, so the fibers that waited do not leave together.
   */
  take(now: number): void {
    if (this.rate === undefined) return
    const interval = 1000 / this.rate
    this.nextSlot = now - this.nextSlot <= interval ? this.nextSlot + interval : now + interval
  }

  /** Notes that a request had to wait for its turn (demand at the rate: the rate may grow). */
  waited(): void {
    this.waitedThisPeriod = true
  }

  record(now: number, outcome: Outcome): void {
    this.roll(now)
    // Answers that come back during a pause were sent before it: they are not judged (they tell nothing new).
    const judged = now >= this.pausedUntil
    if (outcome._tag === "Answered") {
      this.answered[this.bucketIndex(now)]! += 1
      this.run = 0
      if (judged) this.block.answered += 1
      if (this.provisional !== undefined && --this.provisional.answersLeft <= 0) {
        // Not confirmed: the 429 was noise, and the rate goes back to what it was.
        this.rate = this.provisional.previous
        this.provisional = undefined
      }
      this.maybeIncrease(now)
    } else {
      this.run += 1
      if (judged) this.block.limited += 1
      this.lastRetryAfter = outcome.retryAfterMillis
      if (this.run >= this.runThatConfirms()) {
        this.confirm(now, outcome.retryAfterMillis)
      } else if (this.rate === undefined && !this.explicitLimit) {
        // Nothing known yet: pace at once, provisionally, so that a real limit is not hit harder while it is
        // being confirmed; reverted after a few answers otherwise.
        const answered = sum(this.answered)
        if (answered > 0 && this.provisional === undefined) {
          this.provisional = { previous: undefined, answersLeft: PROVISIONAL_ANSWERS }
          this.rate = Math.max(MIN_RATE, answered * LEARN_FACTOR)
          // The next send waits one interval: the answers in flight may confirm the limit meanwhile.
          this.nextSlot = Math.max(this.nextSlot, now + 1000 / this.rate)
        }
      } else if ((this.noise ?? 0) < QUIET_NOISE && this.probing()) {
        // Where 429s are otherwise rare, a lone one after the rate went up is the probe going too far: back to the
        // rate that held when the limit was learned, and no increase for a while. Noise does not lower anything.
        this.rate = Math.max(MIN_RATE, LEARN_FACTOR * this.ceiling)
        this.lastProbeLimitedAt = now
      }
    }
    if (this.block.answered + this.block.limited >= BLOCK_ANSWERS && now - this.block.startedAt >= BLOCK_MILLIS) {
      this.closeBlock(now)
    }
  }

  /** Holds everyone back until `until` (a pause another process reported). */
  pause(until: number): void {
    if (until <= this.pausedUntil) return
    this.pausedUntil = until
    this.nextSlot = Math.max(this.nextSlot, until)
  }

  /**
   * 429s in a row that noise alone would give less than once in a million answers (3 at least; 5 while the noise is
   * not measured, as if it were 5%).
   */
  private runThatConfirms(): number {
    const noise = this.noise ?? ASSUMED_NOISE
    if (noise <= 0) return MIN_RUN
    return Math.max(MIN_RUN, Math.ceil(Math.log(RUN_ODDS) / Math.log(noise)))
  }

  /**
   * A block of answers is judged: a share of 429s over LIMIT_SHARE, or over the noise floor by 2 points and beyond
   * what noise gives once in LIMIT_ODDS blocks, is a limit; a probe above the learned rate with 429s beyond what noise
   * gives once in PROBE_ODDS blocks goes back to the learned rate; a steady block without either measures the noise
   * floor.
   */
  private closeBlock(now: number): void {
    const { answered, limited, unsteady } = this.block
    const n = answered + limited
    const share = limited / n
    const noise = this.noise ?? 0
    const tail = binomialTail(limited, n, Math.max(this.noise ?? ASSUMED_NOISE, MIN_NOISE))
    this.resetBlock(now)
    if (share > LIMIT_SHARE || (share > noise + MIN_MARGIN && tail < LIMIT_ODDS)) {
      this.confirm(now, this.lastRetryAfter)
    } else if (share > noise + MIN_MARGIN && tail < PROBE_ODDS && this.probing()) {
      this.rate = Math.max(MIN_RATE, LEARN_FACTOR * this.ceiling)
      this.lastProbeLimitedAt = now
    } else if (!unsteady && this.steadyRate()) {
      const measured = this.noise === undefined ? share : this.noise + NOISE_WEIGHT * (share - this.noise)
      this.noise = Math.min(MAX_NOISE, measured)
    }
  }

  private resetBlock(now: number): void {
    this.block.answered = 0
    this.block.limited = 0
    this.block.unsteady = false
    this.block.startedAt = now
  }

  /** The rate went up past the learned one (sustained success): a probe for a raised limit. */
  private probing(): boolean {
    return this.provisional === undefined && this.rate !== undefined && this.rate > LEARN_FACTOR * this.ceiling + 1e-9
  }

  /** The rate is steady: none, or not above the learned one (a provisional rate is not counted: it comes and goes). */
  private steadyRate(): boolean {
    const rate = this.provisional === undefined ? this.rate : this.provisional.previous
    return rate === undefined || rate <= LEARN_FACTOR * this.ceiling + 1e-9
  }

  /**
   * A limit confirmed: the rate becomes 97% of the last second's answers (once per Retry-After period, as TCP reacts
   * once per loss event), and everyone waits out the Retry-After (a 429 that comes back during a pause was sent
   * before it began: it neither lowers the rate again nor extends the pause).
   */
  private confirm(now: number, retryAfterMillis: number): void {
    this.lastConfirmedAt = now
    // The answers judged so far are spent: the next block starts after this.
    this.resetBlock(now)
    const previous = this.provisional?.previous
    const wasProvisional = this.provisional !== undefined
    this.provisional = undefined
    if (now >= this.decreaseLockedUntil) {
      this.confirmations += 1
      this.decreaseLockedUntil = now + retryAfterMillis
      const answered = sum(this.answered)
      const before = wasProvisional ? previous : this.rate
      if (now - 1000 < this.pauseEnded && before !== undefined) {
        // The last second held a pause: its answers do not measure the rate; a multiplicative decrease instead.
        this.rate = Math.max(MIN_RATE, before * LEARN_FACTOR)
      } else if (answered > 0) {
        this.ceiling = answered
        this.rate = Math.max(MIN_RATE, Math.min(before ?? Infinity, answered) * LEARN_FACTOR)
      }
      this.periodStart = now
      this.waitedThisPeriod = false
    }
    if (now >= this.pausedUntil) {
      this.pausedUntil = now + retryAfterMillis
      this.pauseEnded = this.pausedUntil
      this.nextSlot = this.pausedUntil
    }
  }

  /**
   * Each second in which requests waited for their slot, once no limit was confirmed for a while (sustained success;
   * where 429s are rare, without any 429 from a probe): the rate goes up.
   */
  private maybeIncrease(now: number): void {
    if (this.rate === undefined || this.provisional !== undefined || now - this.periodStart < 1000) return
    if (
      this.waitedThisPeriod && now - this.lastConfirmedAt >= SUSTAINED_MILLIS &&
      now - this.lastProbeLimitedAt >= SUSTAINED_MILLIS
    ) {
      const step = this.rate < RECOVERY_BAND * this.ceiling ? 0.1 : 0.01
      this.rate = Math.max(this.rate + 0.5, this.rate * (1 + step))
      this.ceiling = Math.max(this.ceiling, this.rate)
      this.block.unsteady = true
    }
    this.periodStart = now
    this.waitedThisPeriod = false
  }

  private bucketIndex(now: number): number {
    return Math.floor(now / BUCKET_MILLIS) % BUCKETS
  }

  /** Clears the buckets that fell out of the last second. */
  private roll(now: number): void {
    const current = Math.floor(now / BUCKET_MILLIS)
    const stale = Math.min(BUCKETS, current - this.bucketAt)
    for (let i = 1; i <= stale; i++) this.answered[(this.bucketAt + i) % BUCKETS] = 0
    this.bucketAt = current
  }
}

const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)

/** P(X >= k) for X ~ Binomial(n, p), summed from k up in log space (n is a block's answers: at most thousands). */
export const binomialTail = (k: number, n: number, p: number): number => {
  if (k <= 0) return 1
  if (k > n) return 0
  let logTerm = logChoose(n, k) + k * Math.log(p) + (n - k) * Math.log1p(-p)
  let total = 0
  for (let i = k; i <= n; i++) {
    total += Math.exp(logTerm)
    logTerm += Math.log((n - i) / (i + 1)) + Math.log(p) - Math.log1p(-p)
  }
  return Math.min(1, total)
}

const logChoose = (n: number, k: number): number => {
  let result = 0
  for (let i = 1; i <= k; i++) result += Math.log((n - k + i) / i)
  return result
}
