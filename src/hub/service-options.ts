/**
 * Options of `SseSubscriptionService`, with their defaults and checks.
 * @module
 */
import { DEFAULTS } from '../constants.js'
import { InvalidOptionError } from '../errors.js'
import type { EventStore } from '../store/event-store.js'

/** Options of `SseSubscriptionService`. Every duration is in milliseconds. */
export interface SseSubscriptionServiceOptions {
  /** Store of the log and subscriptions. The service closes it on `close()`. */
  readonly store: EventStore
  /** Default 15 s. */
  readonly heartbeatIntervalMs?: number
  /** Reconnection delay sent in the `retry` field. Default 3 s. */
  readonly retryMs?: number
  /** Time after which a subscription with no open connection expires. Default 1 hour. */
  readonly subscriptionTtlMs?: number
  /** Age after which events leave the log. Default 24 hours. */
  readonly retentionMaxAgeMs?: number
  /** Number of newest events the log keeps. Default 100,000. */
  readonly retentionMaxEvents?: number
  /** Events replayed before the recorded position after an unclean break. Default 100. */
  readonly uncleanResumeWindow?: number
  /** Also write `event: <eventType>` lines, for `addEventListener(type)`. Default false. */
  readonly namedEvents?: boolean
  /** Default 1 s. */
  readonly positionFlushIntervalMs?: number
  /** Interval of retention and expiry runs. Default 60 s. */
  readonly maintenanceIntervalMs?: number
  /** Default 500. */
  readonly replayBatchSize?: number
  /** Number of newest events kept encoded in memory for catching up. Default 10,000. */
  readonly recentEventCacheSize?: number
  /** Total length of the events in that cache, in UTF-16 code units. Default 32 Mi. */
  readonly recentEventCacheChars?: number
  /** Time a subscriber may keep its socket buffer full before it is disconnected. Default 30 s. */
  readonly slowSubscriberTimeoutMs?: number
  /**
   * Interval at which the hub reads the head of a shared log, in case an append notice was lost
   * while the store was unreachable. Default 1 s. Unused for stores that are not shared.
   */
  readonly headPollIntervalMs?: number
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  readonly now?: () => number
}

/** Options with every default applied. @internal */
export type ResolvedOptions = Required<Omit<SseSubscriptionServiceOptions, 'store'>>

/** Applies the defaults and checks every value. @throws {InvalidOptionError} for an invalid value. */
export function resolveOptions(options: SseSubscriptionServiceOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs,
    retryMs: options.retryMs ?? DEFAULTS.retryMs,
    subscriptionTtlMs: options.subscriptionTtlMs ?? DEFAULTS.subscriptionTtlMs,
    retentionMaxAgeMs: options.retentionMaxAgeMs ?? DEFAULTS.retentionMaxAgeMs,
    retentionMaxEvents: options.retentionMaxEvents ?? DEFAULTS.retentionMaxEvents,
    uncleanResumeWindow: options.uncleanResumeWindow ?? DEFAULTS.uncleanResumeWindow,
    namedEvents: options.namedEvents ?? false,
    positionFlushIntervalMs: options.positionFlushIntervalMs ?? DEFAULTS.positionFlushIntervalMs,
    maintenanceIntervalMs: options.maintenanceIntervalMs ?? DEFAULTS.maintenanceIntervalMs,
    replayBatchSize: options.replayBatchSize ?? DEFAULTS.replayBatchSize,
    recentEventCacheSize: options.recentEventCacheSize ?? DEFAULTS.recentEventCacheSize,
    recentEventCacheChars: options.recentEventCacheChars ?? DEFAULTS.recentEventCacheChars,
    slowSubscriberTimeoutMs: options.slowSubscriberTimeoutMs ?? DEFAULTS.slowSubscriberTimeoutMs,
    headPollIntervalMs: options.headPollIntervalMs ?? DEFAULTS.headPollIntervalMs,
    now: options.now ?? Date.now,
  }
  for (const [name, value] of Object.entries(resolved)) {
    if (typeof value !== 'number') continue
    const minimum = name === 'uncleanResumeWindow' || name === 'retryMs' ? 0 : 1
    if (!Number.isSafeInteger(value) || value < minimum) {
      throw new InvalidOptionError(
        `Invalid option ${name}: ${value}; expected an integer of at least ${minimum}`,
      )
    }
  }
  return resolved
}
