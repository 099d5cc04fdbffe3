/**
 * Public types of the client: its states, what its handlers receive, and the client interface.
 * @module
 */
import type { TidingsClientError } from './client-errors.js'
import type { EstablishedConnection } from './hub-events.js'
import type { Unsubscribe } from './listener-set.js'

/**
 * Connection state.
 *
 * - `connecting`: the first connection is being opened.
 * - `open`: the hub confirmed the stream with `ESTABLISHED_CONNECTION`.
 * - `reconnecting`: the stream was lost or could not be opened; the client waits for its backoff
 *   delay or is opening the next connection.
 * - `closed`: final. `close()` was called, the hub refused the subscription for good, or
 *   `maxAttempts` connection attempts failed in a row.
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed'

/** A state transition, as passed to `onStateChange`. */
export interface StateChange {
  readonly state: ConnectionState
  readonly previous: ConnectionState
  /** The failure that caused the transition, when one did. */
  readonly error?: TidingsClientError
}

/** A scheduled reconnection, as passed to `onReconnectScheduled`. */
export interface ReconnectSchedule {
  /** Connection attempts that failed in a row before this one, from 0 after a lost stream. */
  readonly attempt: number
  /** Time until the next connection attempt, in milliseconds. */
  readonly delayMs: number
}

/** Id and position of one event, passed to event handlers. */
export interface EventInfo {
  /** The SSE id, `<subscriptionId>.<position>` for events of the hub. */
  readonly id: string
  /** Position of the event in the hub's log, `undefined` when the id is not a hub id. */
  readonly position: number | undefined
}

/** Any event of the hub: a JSON object with a string `eventType`. */
export interface TidingsEvent {
  readonly eventType: string
  readonly [property: string]: unknown
}

/**
 * Event type to event shape. Each key is an `eventType` and each value the JSON object the hub
 * sends for it, such as `CaseEventMap`. The map is a compile-time contract only: the client does
 * not check that an event matches its shape.
 */
export type EventMapOf<M> = { readonly [K in keyof M]: { readonly eventType: string } }

/** The map used when none is given: every event type has the shape `TidingsEvent`. */
export type AnyEventMap = Record<string, TidingsEvent>

/** Handler of one event type. */
export type EventHandler<E> = (event: E, info: EventInfo) => void

/**
 * A client of one subscription. It connects as soon as it is created, keeps reconnecting with
 * backoff until closed, and passes each event of the hub to its handlers once.
 */
export interface TidingsClient<M extends EventMapOf<M> = AnyEventMap> {
  /** Current connection state. */
  readonly state: ConnectionState
  /** Id of the subscription, once the hub confirmed it (or as given in the options). */
  readonly subscriptionId: string | undefined
  /**
   * Id of the newest event received, sent as `lastEventId` on every reconnection. Store it with
   * `subscriptionId` to resume after a page reload.
   */
  readonly lastEventId: string | undefined

  /** Calls `handler` for each event of type `eventType`. */
  on<K extends keyof M & string>(eventType: K, handler: EventHandler<M[K]>): Unsubscribe
  /** Calls `handler` for every event, of any type, after the handlers of its type. */
  onEvent(handler: EventHandler<TidingsEvent>): Unsubscribe
  /** Calls `handler` each time the hub confirms a stream with `ESTABLISHED_CONNECTION`. */
  onOpen(handler: (established: EstablishedConnection) => void): Unsubscribe
  /**
   * Calls `handler` when a resume could not be complete, so events may be missing. The
   * subscription was unknown or expired, its missed events left the log, or the log is behind the
   * client's position. The app must reload its state. The handler runs after `onOpen` and before
   * any event of the new stream.
   */
  onReset(handler: (established: EstablishedConnection) => void): Unsubscribe
  /**
   * Calls `handler` for each failed connection attempt, broken stream and unreadable event, and
   * once more when the client gives up. With the fetch transport, a stream the hub ends cleanly
   * is no failure. The browser's EventSource cannot tell a clean end from a network error, so
   * with the `eventsource` transport it is reported as a `network` error before the reconnect.
   */
  onError(handler: (error: TidingsClientError) => void): Unsubscribe
  /** Calls `handler` on every change of `state`. */
  onStateChange(handler: (change: StateChange) => void): Unsubscribe
  /** Calls `handler` each time a reconnection is scheduled, with its delay. */
  onReconnectScheduled(handler: (schedule: ReconnectSchedule) => void): Unsubscribe
  /**
   * Closes the stream, cancels a pending reconnection and moves to `closed`. The client keeps no
   * socket or timer afterwards, and calls no handler except the state change to `closed`.
   * Calling it again does nothing.
   */
  close(): void
}
