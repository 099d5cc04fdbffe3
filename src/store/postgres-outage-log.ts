/**
 * Log lines of `PostgresStore` about connection outages and recoveries, with repeated warnings
 * rate-limited.
 * @module
 */
import type { StoreLogger } from './event-store.js'

/** Minimum interval between two warnings with the same message. */
const WARN_INTERVAL_MS = 30_000

/**
 * Logs the outages of a store and their end, with the store's fields on every line. Warnings are
 * rate-limited for each message.
 * @internal
 */
export class PostgresOutageLog {
  readonly #logger: StoreLogger
  readonly #fields: object
  readonly #isClosed: () => boolean
  /** Time the pool was first found unreachable, or `undefined` while it is reachable. */
  #unreachableSince: number | undefined
  readonly #lastWarnings = new Map<string, { at: number; suppressed: number }>()

  constructor(logger: StoreLogger, fields: object, isClosed: () => boolean) {
    this.#logger = logger
    this.#fields = fields
    this.#isClosed = isClosed
  }

  /** Records that the server is unreachable, and warns when an outage starts. */
  markUnreachable(err: unknown): void {
    if (this.#isClosed() || this.#unreachableSince !== undefined) return
    this.#unreachableSince = performance.now()
    this.warnLimited({ err }, 'store unreachable')
  }

  /** Records that an operation succeeded, and logs the end of an outage. */
  markReachable(): void {
    if (this.#unreachableSince === undefined) return
    const downMs = Math.round(performance.now() - this.#unreachableSince)
    this.#unreachableSince = undefined
    this.info({ downMs }, 'store reachable again')
  }

  /** Logs a warning, at most once per 30 s for each message, with the count of those skipped. */
  warnLimited(fields: object, message: string): void {
    const now = performance.now()
    const last = this.#lastWarnings.get(message)
    if (last && now - last.at < WARN_INTERVAL_MS) {
      last.suppressed++
      return
    }
    const suppressed = last?.suppressed ?? 0
    this.#lastWarnings.set(message, { at: now, suppressed: 0 })
    this.#logger.warn(
      { ...this.#fields, ...fields, ...(suppressed > 0 ? { suppressed } : {}) },
      message,
    )
  }

  /** Logs an info line with the store's fields. */
  info(fields: object, message: string): void {
    this.#logger.info({ ...this.#fields, ...fields }, message)
  }
}
