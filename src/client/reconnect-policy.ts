/**
 * When the client reconnects, and when it gives up: counts failed attempts, draws the backoff
 * delay and applies the lower bounds the hub set.
 * @module
 */
import { drawBackoffDelay, type BackoffOptions } from './backoff.js'
import { TidingsClientError } from './client-errors.js'
import type { ConnectionFailure } from './transport.js'

/** Next step after a connection ended without `close()`: a reconnection, or giving up. */
export type ReconnectDecision =
  | { readonly kind: 'reconnect'; readonly attempt: number; readonly delayMs: number }
  | { readonly kind: 'give-up'; readonly error: TidingsClientError }

/** Reconnection state of one client. */
export class ReconnectPolicy {
  readonly #backoff: BackoffOptions
  readonly #maxAttempts: number
  readonly #random: () => number
  #failedAttempts = 0
  #previousDelayMs: number | undefined
  /** The hub's `retry` value, which lasts across connections. */
  #hubRetryMs = 0

  /**
   * @param maxAttempts connection attempts that may fail in a row before the client gives up.
   * @param random source of uniform numbers in `[0, 1)`, `Math.random` by default.
   */
  constructor(backoff: BackoffOptions, maxAttempts: number, random: () => number = Math.random) {
    this.#backoff = backoff
    this.#maxAttempts = maxAttempts
    this.#random = random
  }

  /** Stores the hub's `retry` value, the minimum delay of every later reconnection. */
  setHubRetry(delayMs: number): void {
    this.#hubRetryMs = delayMs
  }

  /** Records a stream the hub confirmed, so the next failure starts the backoff over. */
  recordOpen(): void {
    this.#failedAttempts = 0
    this.#previousDelayMs = undefined
  }

  /**
   * Decides what follows the end of a connection.
   *
   * @param failure why the connection ended, `undefined` after a clean end.
   * @param wasOpen whether the hub confirmed the stream. A lost stream starts the backoff at
   *   attempt 0, and a connection that never opened counts as one more failed attempt.
   */
  next(failure: ConnectionFailure | undefined, wasOpen: boolean): ReconnectDecision {
    this.#failedAttempts = wasOpen ? 0 : this.#failedAttempts + 1
    if (failure !== undefined && this.#failedAttempts >= this.#maxAttempts) {
      const { kind, status, code, message } = failure.error
      const error = new TidingsClientError(
        kind,
        `Gave up after ${this.#failedAttempts} failed connection attempts in a row (maxAttempts); the last failure: ${message}`,
        {
          ...(status === undefined ? {} : { status }),
          ...(code === undefined ? {} : { code }),
          cause: failure.error,
        },
      )
      return { kind: 'give-up', error }
    }

    const attempt = this.#failedAttempts
    const floorMs = Math.max(this.#hubRetryMs, failure?.retryAfterMs ?? 0)
    const delayMs = drawBackoffDelay(
      this.#backoff,
      attempt,
      this.#previousDelayMs,
      floorMs,
      this.#random,
    )
    this.#previousDelayMs = delayMs
    return { kind: 'reconnect', attempt, delayMs }
  }
}
