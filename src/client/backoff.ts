/**
 * Reconnection delays: exponential backoff with jitter, so that many clients cut off by one hub
 * restart do not all reconnect at the same moment.
 * @module
 */

/** Jitter strategy of the reconnection delay. */
export type JitterStrategy = 'full' | 'decorrelated'

/** Settings of the reconnection delay. Durations are in milliseconds. */
export interface BackoffOptions {
  /** Base delay: the cap of the first full-jitter delay and the floor of decorrelated ones. */
  readonly initialDelayMs: number
  /** Maximum delay the backoff draws. The hub's `retry` value can still raise a delay above it. */
  readonly maxDelayMs: number
  readonly jitter: JitterStrategy
}

/** Maximum delay `setTimeout` accepts. Node and browsers fire a longer timer after about 1 ms. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1

/** Range a delay is drawn from, in milliseconds. */
export interface DelayRange {
  readonly min: number
  readonly max: number
}

/**
 * Computes the range of the next delay.
 *
 * - `full`: uniform in `[0, min(maxDelayMs, initialDelayMs * 2^attempt)]`.
 * - `decorrelated`: uniform in `[initialDelayMs, min(maxDelayMs, 3 * previousDelayMs)]`, where
 *   the previous delay of the first attempt counts as `initialDelayMs`.
 *
 * @param attempt number of connection attempts that failed in a row before this one, from 0.
 * @param previousDelayMs the delay drawn for the previous attempt, used by `decorrelated`.
 */
export function backoffRange(
  options: BackoffOptions,
  attempt: number,
  previousDelayMs: number | undefined,
): DelayRange {
  const { initialDelayMs, maxDelayMs } = options
  if (options.jitter === 'full') {
    // 2 ** 1100 is Infinity, which Math.min turns into the cap, so large attempts cannot overflow.
    return { min: 0, max: Math.min(maxDelayMs, initialDelayMs * 2 ** attempt) }
  }
  const previous = Math.max(initialDelayMs, previousDelayMs ?? initialDelayMs)
  return { min: initialDelayMs, max: Math.min(maxDelayMs, previous * 3) }
}

/**
 * Draws the next reconnection delay, in whole milliseconds.
 *
 * @param floorMs lower bound that wins over the drawn delay, such as the hub's `retry` value.
 * @param random source of uniform numbers in `[0, 1)`, `Math.random` by default.
 */
export function drawBackoffDelay(
  options: BackoffOptions,
  attempt: number,
  previousDelayMs: number | undefined,
  floorMs = 0,
  random: () => number = Math.random,
): number {
  const range = backoffRange(options, attempt, previousDelayMs)
  const drawn = Math.floor(range.min + random() * (range.max - range.min + 1))
  return Math.min(MAX_TIMER_DELAY_MS, Math.max(floorMs, Math.min(drawn, range.max)))
}
