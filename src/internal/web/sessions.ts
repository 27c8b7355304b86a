/**
 * The web login's server-side sessions: stored under the SHA-256 of the cookie's random id, checked on use (idle and
 * absolute lifetimes, a bounded check with TMDB every `revalidateAfter`), indexed per account (sign out everywhere)
 * and, in stores that do not expire entries themselves, by their end (the sweep).
 */
import type { PlatformError } from "@effect/platform/Error"
import * as Arr from "effect/Array"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { Account } from "../../Account.js"
import type { AuthServiceShape } from "../../AuthService.js"
import { Session } from "../../Session.js"
import type { SignedInShape } from "../../web/TmdbWebLogin.js"
import type { WebSessionStoreShape } from "../../web/WebSessionStore.js"
import { randomId, sha256 } from "./ids.js"
import type { Signer } from "./keys.js"
import type { Settings } from "./options.js"

const Stored = Schema.parseJson(Schema.Struct({
  sessionId: Schema.String,
  account: Account,
  createdAt: Schema.Number,
  lastSeenAt: Schema.Number,
  checkedAt: Schema.Number
}))
type Stored = typeof Stored.Type

/** A session is written back at most once a minute while used (its idle clock), not on every request. */
const TOUCH_MILLIS = 60_000

/** How long a request waits for TMDB's answer when it checks a stored session. */
const CHECK_TIMEOUT = Duration.seconds(3)

/** The sweep's index (stores without expiry): session hash → absolute end. */
const EXPIRY_SET = "expiry"
const accountSet = (accountId: number) => `account:${accountId}`
const storeKey = (hash: string) => `session:${hash}`

/** The sessions, over the store. */
export interface Sessions {
  /** The signed-in user of a session cookie's value, if it is ours and the session still valid. */
  readonly lookup: (cookie: string) => Effect.Effect<Option.Option<SignedInShape>>
  /** Stores a new session; the session cookie's value. */
  readonly create: (session: Session, account: Account) => Effect.Effect<string, PlatformError>
  /** Removes the cookie's session from the store; the TMDB session it held, if any. */
  readonly forget: (cookie: string) => Effect.Effect<Option.Option<Session>, PlatformError>
  /** Removes every session of the account; their TMDB sessions. */
  readonly forgetAccount: (accountId: number) => Effect.Effect<ReadonlyArray<Session>, PlatformError>
}

export const makeSessions = (
  settings: Settings,
  auth: AuthServiceShape,
  { expiresEntries, sets, setWithTtl, store }: WebSessionStoreShape,
  signer: Signer
): Sessions => {
  // The last use is written back at most once a minute, and often enough for a short idle lifetime.
  const touchMillis = Math.min(TOUCH_MILLIS, settings.idleMillis / 4)
  let sweptAt = 0

  const write = (hash: string, stored: Stored, now: number) =>
    setWithTtl(
      storeKey(hash),
      Schema.encodeSync(Stored)(stored),
      Duration.millis(
        Math.min(stored.lastSeenAt + settings.idleMillis, stored.createdAt + settings.absoluteMillis) - now
      )
    )

  const read = (hash: string) =>
    Effect.flatMap(
      store.get(storeKey(hash)),
      (text) => Effect.succeed(Option.flatMap(text, (value) => Either.getRight(Schema.decodeEither(Stored)(value))))
    )

  const removeStrict = (hash: string, accountId: number | undefined) =>
    Effect.all([
      store.remove(storeKey(hash)),
      accountId === undefined ? Effect.void : sets.remove(accountSet(accountId), hash),
      expiresEntries ? Effect.void : sets.remove(EXPIRY_SET, hash)
    ], { discard: true })

  const remove = (hash: string, accountId: number | undefined) =>
    removeStrict(hash, accountId).pipe(
      Effect.catchAll((error) =>
        Effect.logWarning(`TmdbWebLogin: session not removed from the store: ${error.message}`)
      )
    )

  /** Stores without expiry: sessions nobody came back for are removed after their absolute end, once a minute. */
  const sweep = (now: number) =>
    expiresEntries || now - sweptAt < TOUCH_MILLIS
      ? Effect.void
      : Effect.gen(function*() {
        sweptAt = now
        const ended = yield* sets.takeUpTo(EXPIRY_SET, now)
        yield* Effect.forEach(ended, (hash) => store.remove(storeKey(hash)), { discard: true })
      }).pipe(Effect.catchAll((error) => Effect.logWarning(`TmdbWebLogin: sweep failed: ${error.message}`)))

  const lookup = (cookie: string): Effect.Effect<Option.Option<SignedInShape>> =>
    Effect.gen(function*() {
      const id = yield* signer.verify(cookie)
      if (Option.isNone(id)) return Option.none()
      const hash = yield* sha256(id.value)
      const text = yield* store.get(storeKey(hash))
      if (Option.isNone(text)) return Option.none()
      const decoded = Schema.decodeEither(Stored)(text.value)
      if (Either.isLeft(decoded)) {
        yield* remove(hash, undefined)
        return Option.none()
      }
      let stored = decoded.right
      const now = yield* Clock.currentTimeMillis
      if (now >= stored.createdAt + settings.absoluteMillis || now >= stored.lastSeenAt + settings.idleMillis) {
        yield* remove(hash, stored.account.id)
        return Option.none()
      }
      const session = new Session({ sessionId: Redacted.make(stored.sessionId) })
      if (now - stored.checkedAt >= settings.revalidateMillis) {
        // Bounded: the check runs inside the user's request, so a slow or failing TMDB (retries, Retry-After)
        // must not hold the page; after CHECK_TIMEOUT the session is kept and checked again later.
        const checked = yield* Effect.either(
          auth.getAccount(session).pipe(
            Effect.timeoutFail({
              duration: CHECK_TIMEOUT,
              onTimeout: () => ({ _tag: "Timeout", message: "no answer in time" })
            })
          )
        )
        if (Either.isLeft(checked) && checked.left._tag === "SessionNotFound") {
          // TMDB no longer knows the session (deleted elsewhere, revoked): drop it here too.
          yield* remove(hash, stored.account.id)
          return Option.none()
        }
        if (Either.isLeft(checked)) {
          yield* Effect.logWarning(`TmdbWebLogin: session not checked with TMDB (kept): ${checked.left.message}`)
        }
        // Another failure (TMDB unreachable, rate limited) keeps the session, checked again after revalidateAfter
        // (not on every request while TMDB is down).
        const checkedAt = yield* Clock.currentTimeMillis
        stored = Either.isRight(checked)
          ? { ...stored, account: checked.right, checkedAt, lastSeenAt: checkedAt }
          : { ...stored, checkedAt, lastSeenAt: checkedAt }
        yield* write(hash, stored, checkedAt)
        return Option.some({ session, account: stored.account })
      }
      if (now - stored.lastSeenAt >= touchMillis) {
        stored = { ...stored, lastSeenAt: now }
        yield* write(hash, stored, now)
      }
      return Option.some({ session, account: stored.account })
    }).pipe(
      Effect.catchAll((error) =>
        Effect.as(Effect.logWarning(`TmdbWebLogin: session store failed: ${error.message}`), Option.none())
      ),
      Effect.withSpan("TmdbWebLogin.session", { captureStackTrace: false })
    )

  const create = (session: Session, account: Account) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const id = randomId()
      const hash = yield* sha256(id)
      yield* write(hash, {
        sessionId: Redacted.value(session.sessionId),
        account,
        createdAt: now,
        lastSeenAt: now,
        checkedAt: now
      }, now)
      const end = now + settings.absoluteMillis
      yield* sweep(now)
      // The account's index forgets sessions that have ended as it grows.
      yield* sets.takeUpTo(accountSet(account.id), now)
      yield* sets.add(accountSet(account.id), hash, end)
      if (!expiresEntries) yield* sets.add(EXPIRY_SET, hash, end)
      return yield* signer.sign(id)
    })

  const forget = (cookie: string) =>
    Effect.gen(function*() {
      const id = yield* signer.verify(cookie)
      if (Option.isNone(id)) return Option.none<Session>()
      const hash = yield* sha256(id.value)
      const stored = yield* read(hash)
      yield* removeStrict(hash, Option.getOrUndefined(Option.map(stored, (s) => s.account.id)))
      return Option.map(stored, (s) => new Session({ sessionId: Redacted.make(s.sessionId) }))
    })

  const forgetAccount = (accountId: number) =>
    Effect.gen(function*() {
      const members = yield* sets.members(accountSet(accountId))
      return yield* Effect.forEach(members, ([hash]) =>
        Effect.gen(function*() {
          const stored = yield* read(hash)
          yield* removeStrict(hash, accountId)
          return Option.map(stored, (s) => new Session({ sessionId: Redacted.make(s.sessionId) }))
        }), { concurrency: 8 }).pipe(Effect.map(Arr.getSomes))
    })

  return { lookup, create, forget, forgetAccount }
}
