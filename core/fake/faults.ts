/**
 * Faults the fake injects in place of (or around) a normal answer: scripted per route, or drawn at random from a mix.
 * The random draws come from a generator the caller passes (both lines hand in core/seededRandom.ts's: a seed gives
 * the same draws on both).
 */

/** A fault, as the engine applies it. */
export type FaultSpec =
  | { readonly _tag: "RateLimited"; readonly retryAfter?: number | undefined }
  | { readonly _tag: "Unavailable"; readonly code?: 9 | 46 | undefined }
  | { readonly _tag: "InternalError" }
  | { readonly _tag: "ConnectionReset" }
  | { readonly _tag: "Truncated" }
  | { readonly _tag: "Delay"; readonly millis: number }

/** Random faults: for each request, each kind with its rate (0 to 1). */
export interface FaultRates {
  readonly seed?: number | undefined
  readonly rateLimited?: number | undefined
  readonly unavailable?: number | undefined
  readonly connectionReset?: number | undefined
  readonly truncated?: number | undefined
  readonly delayed?: number | undefined
  /** How long a random `Delay` lasts. Default 2 seconds. */
  readonly delayMillis?: number | undefined
}

/** A route's key: `"METHOD /path"`, or `"*"` for any. */
export type Route = string

/** One draw of `draw` (uniform in [0, 1)) against the mix: a fault, or none. */
export const drawFault = (rates: FaultRates, draw: number): FaultSpec | undefined => {
  let edge = 0
  const kinds: Array<[number | undefined, () => FaultSpec]> = [
    [rates.rateLimited, () => ({ _tag: "RateLimited" })],
    [rates.unavailable, () => ({ _tag: "Unavailable" })],
    [rates.connectionReset, () => ({ _tag: "ConnectionReset" })],
    [rates.truncated, () => ({ _tag: "Truncated" })],
    [rates.delayed, () => ({ _tag: "Delay", millis: rates.delayMillis ?? 2000 })]
  ]
  for (const [rate, make] of kinds) {
    edge += rate ?? 0
    if (draw < edge) return make()
  }
  return undefined
}

/** Faults scripted per route, each answered once, in order. */
export class ScriptedFaults {
  private scripted = new Map<Route, Array<FaultSpec>>()

  /** The next answers to `route` are these faults, in order. */
  add(route: Route, faults: ReadonlyArray<FaultSpec>): void {
    this.scripted.set(route, [...(this.scripted.get(route) ?? []), ...faults])
  }

  /** The next fault for `route` (its own first, then those for any route), taken from its queue. */
  next(route: Route): FaultSpec | undefined {
    for (const key of [route, "*"]) {
      const queue = this.scripted.get(key)
      if (queue !== undefined && queue.length > 0) return queue.shift()
    }
    return undefined
  }

  clear(): void {
    this.scripted = new Map()
  }
}
