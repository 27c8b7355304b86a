/**
 * The web login's server-side sessions. Each is stored under the SHA-256 of its cookie's random id, the TMDB session
 * id encrypted (AES-GCM under the at-rest key, the entry's hash as additional data), and checked on use (idle and
 * absolute lifetimes; a bounded check with TMDB every `revalidateAfter`). A session that ends, however it ends, is
 * deleted at TMDB: entries outlive their end by a few minutes in an expiry index that a sweep claims (Redis: a sorted
 * set claimed by a script; elsewhere per-minute buckets under one lock), so that one instance ends each. Sessions are
 * listed per account (at most `maxSessionsPerAccount`, the oldest ending first; sign out everywhere).
 */
import * as Arr from "effect/Array"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { KeyValueStoreError } from "effect/persistence/KeyValueStore"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { seal, unseal } from "../../../core/webCrypto.js"
import { Account } from "../../Account.js"
import type { AuthServiceShape } from "../../AuthService.js"
import { Session } from "../../Session.js"
import type { SignedInShape } from "../../web/TmdbWebLogin.js"
import { SessionStoreUnavailable, type WebSessionStoreShape } from "../../web/WebSessionStore.js"
import { randomId, sha256 } from "./ids.js"
import type { Signer } from "./keys.js"
import type { Settings } from "./options.js"

const Entry = Schema.Struct({
  account: Account,
  createdAt: Schema.Number,
  lastSeenAt: Schema.Number,
  checkedAt: Schema.Number
})
/** 0.6: `k` is the TMDB session id, encrypted: base64url of the 12-byte IV and the AES-GCM ciphertext. */
const Stored = Schema.fromJsonString(Schema.Struct({ ...Entry.fields, k: Schema.String }))
type Stored = typeof Stored.Type
/** 0.5.0 stored the TMDB session id in plain text: such entries are ended at TMDB by the first sweep. */
const Legacy = Schema.fromJsonString(Schema.Struct({ ...Entry.fields, sessionId: Schema.String }))
const LegacyIndex = Schema.fromJsonString(Schema.Record(Schema.String, Schema.Number))

/** A session is written back at most once a minute while used (its idle clock), not on every request. */
const TOUCH_MILLIS = 60_000
/** How long a request waits for TMDB's answer when it checks a stored session. */
const CHECK_TIMEOUT = Duration.seconds(3)
/** Entries outlive their end this long, so that the sweep can still read (and end at TMDB) their session. */
export const ENDED_GRACE_MILLIS = 5 * 60_000
/** Per-minute buckets of the expiry index (stores without sorted sets). */
const BUCKET_MILLIS = 60_000
/** A sweep catches up at most this many buckets (a store left unswept for longer: the oldest stay). */
const MAX_BUCKETS = 60 * 24 * 62

const accountSet = (accountId: number) => `account:${accountId}`
const storeKey = (hash: string) => `session:${hash}`

/** What the store holds for one cookie, as far as it can be read. */
type Read =
  | { readonly _tag: "Missing" }
  | { readonly _tag: "Unreadable" }
  | {
    readonly _tag: "Found"
    readonly stored: typeof Entry.Type
    /** The encrypted session id as stored; undefined in a 0.5.0 entry. */
    readonly k: string | undefined
    /** None: no signing key decrypts it. */
    readonly sessionId: Option.Option<string>
  }

/** The sessions, over the store. */
export interface Sessions {
  /** The signed-in user of a session cookie's value, if it is ours and the session still valid. */
  readonly lookup: (cookie: string) => Effect.Effect<Option.Option<SignedInShape>, SessionStoreUnavailable>
  /** Stores a new session; the session cookie's value. A previous cookie presented with it ends its session. */
  readonly create: (
    session: Session,
    account: Account,
    previousCookie: string | undefined
  ) => Effect.Effect<string, SessionStoreUnavailable>
  /** Removes the cookie's session from the store; the TMDB session it held, if any. */
  readonly forget: (cookie: string) => Effect.Effect<Option.Option<Session>, SessionStoreUnavailable>
  /** Removes every session of the account; their TMDB sessions. */
  readonly forgetAccount: (accountId: number) => Effect.Effect<ReadonlyArray<Session>, SessionStoreUnavailable>
  /** Ends (here and at TMDB) the sessions whose end has come; 0.5.0 entries too, on the first run. Never fails. */
  readonly sweep: Effect.Effect<void>
}

export const makeSessions = (
  settings: Settings,
  auth: AuthServiceShape,
  { expiresEntries, listKeys, setIfPresent, sets, setWithTtl, store }: WebSessionStoreShape,
  signer: Signer,
  atRest: ReadonlyArray<CryptoKey>
): Sessions => {
  // Entries outlive their end long enough for two sweeps to find them (Redis removes them after that).
  const endedGraceMillis = Math.max(ENDED_GRACE_MILLIS, 2 * settings.sweepMillis + 60_000)
  // The last use is written back at most once a minute, and often enough for a short idle lifetime.
  const touchMillis = Math.min(TOUCH_MILLIS, settings.idleMillis / 4)
  const unavailable = (error: KeyValueStoreError) => SessionStoreUnavailable.fromStore(error)
  /** A store failure: logged with its details, then `SessionStoreUnavailable` (which shows none). */
  const orUnavailable = <A>(effect: Effect.Effect<A, KeyValueStoreError>) =>
    effect.pipe(Effect.tapError(warn("session store failed")), Effect.mapError(unavailable))
  const endOf = (stored: typeof Entry.Type) =>
    Math.min(stored.lastSeenAt + settings.idleMillis, stored.createdAt + settings.absoluteMillis)
  const warn = (what: string) => (error: { readonly message: string }) =>
    Effect.logWarning(`TmdbWebLogin: ${what}: ${error.message}`)

  // At rest ---------------------------------------------------------------------------------------------------

  const encrypt = (hash: string, sessionId: string) => Effect.promise(() => seal(atRest[0]!, hash, sessionId))

  const decrypt = (hash: string, k: string): Effect.Effect<Option.Option<string>> =>
    Effect.map(Effect.promise(() => unseal(atRest, hash, k)), Option.fromNullishOr)

  // Entries and indexes -----------------------------------------------------------------------------------------

  const read = (hash: string): Effect.Effect<Read, KeyValueStoreError> =>
    Effect.flatMap(store.get(storeKey(hash)), (text) => {
      if (text === undefined) return Effect.succeed<Read>({ _tag: "Missing" })
      const current = Schema.decodeResult(Stored)(text)
      if (Result.isSuccess(current)) {
        return Effect.map(decrypt(hash, current.success.k), (sessionId): Read => ({
          _tag: "Found",
          stored: current.success,
          k: current.success.k,
          sessionId
        }))
      }
      const legacy = Schema.decodeResult(Legacy)(text)
      return Effect.succeed<Read>(
        Result.isSuccess(legacy)
          ? { _tag: "Found", stored: legacy.success, k: undefined, sessionId: Option.some(legacy.success.sessionId) }
          : { _tag: "Unreadable" }
      )
    })

  const expiry = {
    add: (hash: string, end: number) =>
      expiresEntries
        ? sets.add("expiry", hash, end)
        : sets.add(`expiry:${Math.floor(end / BUCKET_MILLIS)}`, hash, end),
    /** The hashes whose end has come, each claimed by one caller. */
    claim: (now: number): Effect.Effect<ReadonlyArray<string>, KeyValueStoreError> =>
      expiresEntries ? sets.takeUpTo("expiry", now) : Effect.gen(function*() {
        const current = Math.floor(now / BUCKET_MILLIS)
        const text = yield* store.get("expiry:cursor")
        const cursor = text === undefined ? undefined : Number(text)
        const first = Math.max(
          cursor !== undefined && Number.isFinite(cursor) ? cursor + 1 : current - 1,
          current - MAX_BUCKETS
        )
        const claimed: Array<string> = []
        for (let bucket = first; bucket <= current; bucket++) {
          claimed.push(...(yield* sets.takeUpTo(`expiry:${bucket}`, now)))
        }
        // The current minute's bucket may still fill: it is read again next time.
        yield* store.set("expiry:cursor", String(current - 1))
        return claimed
      })
  }

  const ttlOf = (end: number, now: number) => Duration.millis(end - now + endedGraceMillis)

  /** A new entry, and its place in the expiry index. */
  const write = (hash: string, stored: Stored, now: number) => {
    const end = endOf(stored)
    return Effect.andThen(
      setWithTtl(storeKey(hash), Schema.encodeSync(Stored)(stored), ttlOf(end, now)),
      expiry.add(hash, end)
    )
  }

  /** An entry written back after use, only while it is still there: a sign-out in between stands. */
  const writeBack = (hash: string, stored: Stored, now: number) => {
    const end = endOf(stored)
    return Effect.flatMap(
      setIfPresent(storeKey(hash), Schema.encodeSync(Stored)(stored), ttlOf(end, now)),
      (written) => written ? expiry.add(hash, end) : Effect.void
    )
  }

  const sessionOf = (sessionId: string) => new Session({ sessionId: Redacted.make(sessionId) })

  /** Removes an entry from the store and its account's list; the TMDB session it held, if any. */
  const remove = (hash: string, found: Read, accountId?: number) => {
    const listedUnder = found._tag === "Found" ? found.stored.account.id : accountId
    return Effect.as(
      Effect.all([
        store.remove(storeKey(hash)),
        listedUnder === undefined ? Effect.void : sets.remove(accountSet(listedUnder), hash)
      ], { discard: true }),
      found._tag === "Found" ? Option.map(found.sessionId, sessionOf) : Option.none<Session>()
    )
  }

  /** Ends a session at TMDB without waiting (the cleanup facility retries within lateAnswerGrace). */
  const endAtTmdb = (session: Option.Option<Session>) =>
    Option.isNone(session) ? Effect.void : auth.endSession(session.value, { waitAtMost: Duration.zero })

  /** Ends an entry here and at TMDB; a store failure is logged (the sweep tries again while the entry lasts). */
  const end = (hash: string, found: Read, why: string) =>
    Effect.gen(function*() {
      if (found._tag === "Found" && Option.isNone(found.sessionId)) {
        yield* Effect.logWarning(`TmdbWebLogin: a stored session no signing key decrypts was dropped (${why})`)
      }
      if (found._tag === "Unreadable") {
        yield* Effect.logWarning(`TmdbWebLogin: a stored session that could not be read was dropped (${why})`)
      }
      yield* endAtTmdb(yield* remove(hash, found))
    }).pipe(Effect.catch(warn("an ended session was not removed from the store")))

  // Lookup ------------------------------------------------------------------------------------------------------

  const lookup = (cookie: string): Effect.Effect<Option.Option<SignedInShape>, SessionStoreUnavailable> =>
    Effect.gen(function*() {
      const id = yield* signer.verify(cookie)
      if (Option.isNone(id)) return Option.none()
      const hash = yield* sha256(id.value)
      const found = yield* orUnavailable(read(hash))
      if (found._tag === "Missing") return Option.none()
      const now = yield* Clock.currentTimeMillis
      if (
        found._tag !== "Found" || found.k === undefined || Option.isNone(found.sessionId) ||
        now >= endOf(found.stored)
      ) {
        yield* end(hash, found, "on use")
        return Option.none()
      }
      let stored: Stored = { ...found.stored, k: found.k }
      const session = sessionOf(found.sessionId.value)
      if (now - stored.checkedAt >= settings.revalidateMillis) {
        // Bounded: the check runs inside the user's request, so a slow or failing TMDB (retries, Retry-After)
        // must not hold the page; after CHECK_TIMEOUT the session is kept and checked again later.
        const checked = yield* Effect.result(
          auth.getAccount(session).pipe(
            Effect.timeoutOrElse({
              duration: CHECK_TIMEOUT,
              orElse: () => Effect.fail({ _tag: "Timeout", message: "no answer in time" } as const)
            })
          )
        )
        if (Result.isFailure(checked) && checked.failure._tag === "SessionNotFound") {
          // TMDB no longer knows the session (deleted elsewhere, revoked): drop it here too.
          yield* remove(hash, found).pipe(Effect.catch(warn("session not removed from the store")))
          return Option.none()
        }
        if (Result.isFailure(checked)) {
          yield* Effect.logWarning(`TmdbWebLogin: session not checked with TMDB (kept): ${checked.failure.message}`)
        }
        // Another failure (TMDB unreachable, rate limited) keeps the session, checked again after revalidateAfter
        // (not on every request while TMDB is down).
        const checkedAt = yield* Clock.currentTimeMillis
        stored = Result.isSuccess(checked)
          ? { ...stored, account: checked.success, checkedAt, lastSeenAt: checkedAt }
          : { ...stored, checkedAt, lastSeenAt: checkedAt }
        yield* writeBack(hash, stored, checkedAt).pipe(Effect.catch(warn("session not written back")))
      } else if (now - stored.lastSeenAt >= touchMillis) {
        stored = { ...stored, lastSeenAt: now }
        yield* writeBack(hash, stored, now).pipe(Effect.catch(warn("session not written back")))
      }
      return Option.some({ session, account: stored.account })
    }).pipe(Effect.withSpan("TmdbWebLogin.session", undefined, { captureStackTrace: false }))

  // Sign-in, sign-out -------------------------------------------------------------------------------------------

  /** Ends the oldest sessions of the account beyond `maxSessionsPerAccount`. */
  const enforceCap = (accountId: number) =>
    Effect.gen(function*() {
      const members = yield* sets.members(accountSet(accountId))
      if (members.length <= settings.maxSessionsPerAccount) return
      const oldest = [...members].sort((a, b) => a[1] - b[1]).slice(0, members.length - settings.maxSessionsPerAccount)
      yield* Effect.forEach(oldest, ([hash]) =>
        Effect.flatMap(read(hash), (found) =>
          found._tag === "Found"
            ? end(hash, found, "over maxSessionsPerAccount")
            : remove(hash, found, accountId)), { discard: true })
    }).pipe(Effect.catch(warn("maxSessionsPerAccount not enforced")))

  const create = (session: Session, account: Account, previousCookie: string | undefined) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const id = randomId()
      const hash = yield* sha256(id)
      const stored: Stored = {
        k: yield* encrypt(hash, Redacted.value(session.sessionId)),
        account,
        createdAt: now,
        lastSeenAt: now,
        checkedAt: now
      }
      yield* write(hash, stored, now)
      // Listed under its absolute end: the oldest session of the account has the lowest score.
      yield* sets.add(accountSet(account.id), hash, now + settings.absoluteMillis).pipe(
        Effect.tapError(() => Effect.ignore(store.remove(storeKey(hash))))
      )
      yield* enforceCap(account.id)
      // A sign-in from a browser still holding a session ends that one (a session per browser).
      if (previousCookie !== undefined) {
        yield* Effect.flatMap(forgetOrNone(previousCookie), endAtTmdb).pipe(
          Effect.catch(warn("the browser's previous session was not ended"))
        )
      }
      return yield* signer.sign(id)
    }).pipe(orUnavailable)

  const forgetOrNone = (cookie: string): Effect.Effect<Option.Option<Session>, KeyValueStoreError> =>
    Effect.gen(function*() {
      const id = yield* signer.verify(cookie)
      if (Option.isNone(id)) return Option.none<Session>()
      const hash = yield* sha256(id.value)
      return yield* Effect.flatMap(read(hash), (found) => remove(hash, found))
    })

  const forget = (cookie: string) => orUnavailable(forgetOrNone(cookie))

  const forgetAccount = (accountId: number) =>
    Effect.gen(function*() {
      const members = yield* sets.members(accountSet(accountId))
      const ended = yield* Effect.forEach(
        members,
        ([hash]) => Effect.flatMap(read(hash), (found) => remove(hash, found, accountId)),
        { concurrency: 8 }
      )
      return Arr.getSomes(ended)
    }).pipe(orUnavailable)

  // The sweep ---------------------------------------------------------------------------------------------------

  /** The hashes of 0.5.0's entries: listed where the store can list keys, else from 0.5.0's own index. */
  const legacyHashes = listKeys !== undefined
    ? Effect.map(listKeys("session:"), Arr.map((key) => key.slice("session:".length)))
    : Effect.map(store.get("index"), (text) =>
      text === undefined
        ? []
        : Object.keys(Result.getOrElse(Schema.decodeResult(LegacyIndex)(text), () => ({}))))

  let migrated = false
  const migrate = Effect.suspend(() =>
    migrated ? Effect.void : Effect.gen(function*() {
      for (const hash of yield* legacyHashes) {
        const found = yield* read(hash)
        if (found._tag === "Found" && found.k === undefined) yield* end(hash, found, "stored by 0.5.0")
      }
      yield* store.remove("index")
      migrated = true
    })
  )

  /** One claimed entry: ended, or indexed again at its new end; on a store failure, due again at the next sweep. */
  const settle = (hash: string, now: number) =>
    Effect.gen(function*() {
      const found = yield* read(hash)
      if (found._tag === "Missing") return
      // Used since it was indexed: indexed again at its new end.
      if (found._tag === "Found" && found.k !== undefined && now < endOf(found.stored)) {
        return yield* expiry.add(hash, endOf(found.stored))
      }
      yield* end(hash, found, "its lifetime ended")
    }).pipe(
      Effect.catch((error) =>
        Effect.andThen(
          warn("an ended session was not settled (due again at the next sweep)")(error),
          Effect.ignore(expiry.add(hash, now))
        )
      )
    )

  const sweep = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const due = yield* expiry.claim(now).pipe(
      Effect.catch((error) => Effect.as(warn("sweep of ended sessions failed (tried again at the next)")(error), []))
    )
    yield* Effect.forEach(due, (hash) => settle(hash, now), { discard: true })
    // 0.5.0's entries, after the sweep proper: a long listing never holds it back.
    yield* migrate.pipe(Effect.catch(warn("0.5.0's sessions not ended yet (tried again at the next sweep)")))
  }).pipe(Effect.withSpan("TmdbWebLogin.sweep", undefined, { captureStackTrace: false }))

  return { lookup, create, forget, forgetAccount, sweep }
}
