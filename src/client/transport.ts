/**
 * The contract between the client and the two ways it reads a stream: a fetch-based stream with
 * the client's own parser, and the browser's `EventSource`.
 * @module
 */
import type { TidingsClientError } from './client-errors.js'
import type { SseMessage } from './sse-parser.js'

/** Cause of a connection's end, when it did not end cleanly. */
export interface ConnectionFailure {
  readonly error: TidingsClientError
  /** Whether retrying cannot help, such as after a 4xx other than 408 and 429. */
  readonly permanent: boolean
  /** Minimum time before the next attempt that the hub asked for with `Retry-After`. */
  readonly retryAfterMs?: number
}

/** Callbacks of one connection. None of them is called after `close()`. */
export interface ConnectionHandlers {
  readonly onMessage: (message: SseMessage) => void
  /** Receives the hub's `retry` value, in milliseconds. */
  readonly onRetry: (delayMs: number) => void
  /**
   * Called once when the connection ends by itself: with `undefined` when the hub ended the
   * stream cleanly, with the failure otherwise.
   */
  readonly onEnd: (failure: ConnectionFailure | undefined) => void
}

/** One open or opening connection. */
export interface Connection {
  /** Ends the connection and releases its socket. No handler is called afterwards. */
  close(): void
  /**
   * Asks for events named `eventType` as well as unnamed ones. Only the `EventSource` transport
   * needs it, because a browser dispatches named events to their own listeners only.
   */
  listen(eventType: string): void
}

/** Opens a connection to a subscribe URL. */
export type Transport = (url: string, handlers: ConnectionHandlers) => Connection
