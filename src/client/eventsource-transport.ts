/**
 * Reads an event stream with the browser's `EventSource`.
 *
 * The native object reconnects by itself to the URL it was opened with, which names neither the
 * subscription nor the position the client reached. This transport therefore closes it on the
 * first error and reports the end, so that the client reconnects with its own URL and backoff.
 * @module
 */
import { TidingsClientError } from './client-errors.js'
import type { Connection, ConnectionHandlers, Transport } from './transport.js'

/** The part of a `MessageEvent` the transport reads. */
export interface EventSourceMessageEvent {
  readonly type: string
  readonly data?: unknown
  readonly lastEventId?: string
}

/** The part of the WHATWG `EventSource` interface the transport uses. */
export interface EventSourceLike {
  readonly readyState: number
  addEventListener(type: string, listener: (event: EventSourceMessageEvent) => void): void
  close(): void
}

/** Constructor of an `EventSource`, such as `globalThis.EventSource`. */
export type EventSourceConstructor = new (
  url: string,
  init?: { withCredentials?: boolean },
) => EventSourceLike

/** [spec] `readyState` of an `EventSource` that will not reconnect. */
const CLOSED = 2

/** Settings of the `EventSource` transport. */
export interface EventSourceTransportOptions {
  readonly EventSource: EventSourceConstructor
  readonly withCredentials: boolean
  /** Event types to listen for besides unnamed messages, for a hub that names its events. */
  readonly eventTypes: () => Iterable<string>
}

/** Creates a transport that opens each connection with a new `EventSource`. */
export function createEventSourceTransport(options: EventSourceTransportOptions): Transport {
  return (url, handlers) => openEventSourceConnection(options, url, handlers)
}

function openEventSourceConnection(
  options: EventSourceTransportOptions,
  url: string,
  handlers: ConnectionHandlers,
): Connection {
  let source: EventSourceLike
  try {
    source = new options.EventSource(url, { withCredentials: options.withCredentials })
  } catch (cause) {
    return failedConnection(handlers, cause)
  }
  const listening = new Set<string>()
  let ended = false

  const onMessage = (event: EventSourceMessageEvent): void => {
    if (ended) return
    handlers.onMessage({
      event: event.type,
      data: typeof event.data === 'string' ? event.data : String(event.data),
      id: event.lastEventId ?? '',
    })
  }
  const listen = (eventType: string): void => {
    if (listening.has(eventType)) return
    listening.add(eventType)
    source.addEventListener(eventType, onMessage)
  }

  source.addEventListener('error', () => {
    if (ended) return
    ended = true
    // [spec] A rejected request (a status other than 200, or another content type) closes the
    // source for good, while a network error leaves it reconnecting. Neither shows the status.
    const rejected = source.readyState === CLOSED
    source.close()
    const error = rejected
      ? new TidingsClientError(
          'http',
          'The hub rejected the event stream request, and EventSource does not expose the status, so the client retries; use the fetch transport to see the status',
        )
      : new TidingsClientError('network', 'The event stream broke or the hub ended it')
    // NOTE: a rejection is retried although it may be a permanent 4xx, because a 503 while the
    // hub restarts looks the same to EventSource. The fetch transport distinguishes them.
    handlers.onEnd({ error, permanent: false })
  })
  listen('message')
  listen('ESTABLISHED_CONNECTION')
  for (const eventType of options.eventTypes()) listen(eventType)

  return {
    close() {
      ended = true
      source.close()
    },
    listen,
  }
}

/**
 * Returns a connection that reports a constructor error as a permanent failure. The report waits
 * for a microtask, because the client expects no handler call before the connection is returned.
 */
function failedConnection(handlers: ConnectionHandlers, cause: unknown): Connection {
  let closed = false
  queueMicrotask(() => {
    if (closed) return
    const message = cause instanceof Error ? cause.message : String(cause)
    const error = new TidingsClientError(
      'network',
      `Could not create the EventSource: ${message}`,
      {
        cause,
      },
    )
    handlers.onEnd({ error, permanent: true })
  })
  return {
    close() {
      closed = true
    },
    listen() {},
  }
}
