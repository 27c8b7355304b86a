/**
 * The Redis layers' options, in a module of their own: the public types that extend them (`WebSessionRedisOptions`)
 * then do not import ioredis's types, which an app without the optional peer ioredis does not have (a type-check
 * with `skipLibCheck: false` failed on the `/web` entry point).
 */
import type * as Duration from "effect/Duration"

/** The options both Redis layers take; other ioredis options (`password`, `db`, `tls`, ...) pass through. */
export interface RedisConnectionOptions {
  readonly host?: string | undefined
  readonly port?: number | undefined
  /** How long one Redis command may take. Default 1 second. */
  readonly commandTimeout?: Duration.DurationInput | undefined
  readonly [option: string]: unknown
}
