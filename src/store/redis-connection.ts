/**
 * The connections of `RedisStore`: their shared options, waiting until one is ready, logging its
 * outages, and closing it.
 * @module
 */
import type { Redis, RedisOptions } from 'ioredis'
import type { StoreLogger } from './event-store.js'

const FIRST_RECONNECT_DELAY_MS = 100

/** Minimum time between two warnings about the same outage. */
const OUTAGE_WARNING_INTERVAL_MS = 30_000

/**
 * Time limits of a connection, in milliseconds, as `RedisStoreOptions` describes them.
 * @internal
 */
export interface ConnectionTimeouts {
  readonly maxReconnectDelayMs: number
  readonly connectTimeoutMs: number
  readonly commandTimeoutMs: number
}

/**
 * Builds the `ioredis` options that both connections of a store share.
 * @internal
 */
export function createClientOptions({
  maxReconnectDelayMs,
  connectTimeoutMs,
  commandTimeoutMs,
}: ConnectionTimeouts): RedisOptions {
  return {
    // Fail fast during an outage: no queue for commands issued while disconnected, and a
    // command in flight when the connection drops fails instead of being sent again, because
    // sending an append twice would store the event twice.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: connectTimeoutMs,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (attempt) =>
      Math.min(FIRST_RECONNECT_DELAY_MS * 2 ** Math.min(attempt - 1, 20), maxReconnectDelayMs),
  }
}

/**
 * Resolves once `client`, which is connecting, is ready, and rejects when the attempt fails.
 * @internal
 */
export function waitForReady(client: Redis, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (err?: Error) => {
      clearTimeout(timer)
      client.off('ready', onReady)
      client.off('close', onClose)
      client.off('end', onClose)
      if (err) reject(err)
      else resolve()
    }
    const onReady = () => settle()
    const onClose = () => settle(new Error('Redis connection closed while connecting'))
    const timer = setTimeout(
      () => settle(new Error(`Redis connection not ready after ${timeoutMs} ms`)),
      timeoutMs,
    )
    client.on('ready', onReady)
    client.on('close', onClose)
    client.on('end', onClose)
  })
}

/**
 * Closes a connection politely when it is up, and at once otherwise.
 * @internal
 */
export async function quit(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit()
      return
    } catch {
      // The connection failed during QUIT; disconnecting below releases it all the same.
    }
  }
  client.disconnect()
}

/**
 * Logs the outages of one connection: a warning when it is lost or first fails, at most one more
 * warning per `OUTAGE_WARNING_INTERVAL_MS` while it stays down, and an info line when it is back.
 * @internal
 */
export class ConnectionLog {
  /** Last connection error, the cause of the next failure that is logged or thrown. */
  lastError: Error | undefined
  readonly #fields: object
  readonly #logger: StoreLogger
  readonly #isClosing: () => boolean
  #up = false
  #downSince = Date.now()
  #failedAttempts = 0
  #warnedAt: number | undefined

  constructor(client: Redis, fields: object, logger: StoreLogger, isClosing: () => boolean) {
    this.#fields = fields
    this.#logger = logger
    this.#isClosing = isClosing
    client.on('error', (err: Error) => {
      this.lastError = err
    })
    client.on('close', () => this.#onClose())
    client.on('ready', () => this.#onReady())
  }

  #onClose(): void {
    if (this.#isClosing()) return
    const now = Date.now()
    const err = this.lastError
    if (this.#up) {
      this.#up = false
      this.#downSince = now
      this.#failedAttempts = 0
      this.#warnedAt = now
      this.#logger.warn({ ...this.#fields, err }, 'redis connection lost')
      return
    }
    this.#failedAttempts++
    if (this.#warnedAt === undefined) {
      this.#warnedAt = now
      this.#logger.warn({ ...this.#fields, err }, 'redis connection failed')
    } else if (now - this.#warnedAt >= OUTAGE_WARNING_INTERVAL_MS) {
      this.#warnedAt = now
      const fields = { failedAttempts: this.#failedAttempts, downForMs: now - this.#downSince }
      this.#logger.warn({ ...this.#fields, ...fields, err }, 'redis still unreachable')
    }
  }

  #onReady(): void {
    if (this.#warnedAt !== undefined) {
      const fields = {
        failedAttempts: this.#failedAttempts,
        downForMs: Date.now() - this.#downSince,
      }
      this.#logger.info({ ...this.#fields, ...fields }, 'redis connection restored')
    }
    this.#up = true
    this.#warnedAt = undefined
    this.lastError = undefined
  }
}
