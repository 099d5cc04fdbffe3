/**
 * Wire constants and documented defaults, in one place so that docs, CLI help and code agree.
 * @module
 */

/** Response headers of every event stream. `Connection` is left out because HTTP/2 forbids it. */
export const SSE_RESPONSE_HEADERS = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
})

/** Event type of the first event on every stream. */
export const ESTABLISHED_CONNECTION = 'ESTABLISHED_CONNECTION'

/** Maximum length in bytes of an SSE `id` field, so that every client and proxy keeps it intact. */
export const MAX_EVENT_ID_BYTES = 128

/** Maximum length of an event type. */
export const MAX_EVENT_TYPE_LENGTH = 128

/** Defaults of the hub, each overridable through options, CLI flags and environment variables. */
export const DEFAULTS = Object.freeze({
  /** HTTP port of the standalone hub. */
  port: 8080,
  /** Interface the standalone hub listens on. */
  host: '127.0.0.1',
  /** Store URL of the standalone hub. */
  storeUrl: 'sqlite:./data/tidings.db',
  /** Interval between comment heartbeats on idle streams, in milliseconds. */
  heartbeatIntervalMs: 15_000,
  /** Reconnection delay sent to clients in the `retry` field, in milliseconds. */
  retryMs: 3_000,
  /** Time after which a subscription with no open connection expires, in milliseconds. */
  subscriptionTtlMs: 60 * 60 * 1000,
  /** Age after which events leave the log, in milliseconds. */
  retentionMaxAgeMs: 24 * 60 * 60 * 1000,
  /** Number of newest events the log keeps. */
  retentionMaxEvents: 100_000,
  /**
   * Number of events replayed before the recorded position when a subscription is resumed by path
   * id alone after its previous connection did not end cleanly.
   */
  uncleanResumeWindow: 100,
  /** Maximum size of a request body, in bytes. */
  maxBodyBytes: 64 * 1024,
  /** Interval at which subscription positions are written to the store, in milliseconds. */
  positionFlushIntervalMs: 1_000,
  /** Interval between retention and expiry runs, in milliseconds. */
  maintenanceIntervalMs: 60_000,
  /** Number of events read from the store in one replay step. */
  replayBatchSize: 500,
  /** Number of newest events kept in memory, encoded, so that catching up seldom reads the store. */
  recentEventCacheSize: 10_000,
  /** Total length of the encoded events in that cache, in UTF-16 code units (about bytes). */
  recentEventCacheChars: 32 * 1024 * 1024,
  /** Time a subscriber may leave its socket buffer full before it is disconnected, in milliseconds. */
  slowSubscriberTimeoutMs: 30_000,
  /** Interval at which a hub on a shared store reads the log's head, in milliseconds. */
  headPollIntervalMs: 1_000,
  /** Time given to open streams and requests on shutdown before sockets are destroyed, in milliseconds. */
  shutdownGraceMs: 5_000,
})
