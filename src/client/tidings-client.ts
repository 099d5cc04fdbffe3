/**
 * The subscription client: connects to the hub, reconnects with backoff after every drop, and
 * resumes with the subscription id and the last event id, so the app receives each event once.
 * @module
 */
import { TidingsClientError } from './client-errors.js'
import { resolveClientOptions } from './client-options.js'
import type { ResolvedClientOptions, TidingsClientOptions } from './client-options.js'
import type {
  AnyEventMap,
  ConnectionState,
  EventHandler,
  EventInfo,
  EventMapOf,
  ReconnectSchedule,
  StateChange,
  TidingsClient,
  TidingsEvent,
} from './client-types.js'
import {
  ESTABLISHED_CONNECTION,
  parseEstablishedConnection,
  parseHubEvent,
  type EstablishedConnection,
} from './hub-events.js'
import { EventCursorTracker, formatEventCursor, parseEventCursor } from './event-cursor.js'
import { createEventSourceTransport } from './eventsource-transport.js'
import { createFetchTransport } from './fetch-transport.js'
import { ListenerSet, type Unsubscribe } from './listener-set.js'
import { ReconnectPolicy } from './reconnect-policy.js'
import type { SseMessage } from './sse-parser.js'
import { buildSubscribeUrl } from './subscribe-url.js'
import type { Connection, ConnectionFailure, Transport } from './transport.js'

/**
 * Creates a client and starts connecting at once. Handlers added in the same task as the call
 * miss nothing, because the first event can only arrive in a later task.
 *
 * The first stream opens a new subscription unless `subscriptionId` or `lastEventId` names one.
 * After any drop the client reconnects to `/api/v1/sse/{subscriptionId}?lastEventId=<id>`, so the
 * hub resumes exactly, and it drops any event whose position it has already passed.
 *
 * When the hub cannot resume completely, it sends `reset: true` and the client calls `onReset`:
 * events were lost, so the app must load its state again. Load it the first time after the
 * stream is open too, so that no change falls between the load and the first event.
 *
 * @throws {InvalidClientOptionError} when an option is invalid.
 * @example
 * import { createTidingsClient, type CaseEventMap } from 'tidings/client'
 *
 * const client = createTidingsClient<CaseEventMap>({
 *   url: 'https://hub.example.com',
 *   // Stored by an earlier page, so a reload resumes instead of starting over.
 *   lastEventId: sessionStorage.getItem('lastEventId') ?? undefined,
 * })
 * let loaded = false
 * client.onOpen(() => {
 *   if (!loaded) void loadCases()
 *   loaded = true
 * })
 * client.onReset(() => void loadCases())
 * client.on('CASE_ASSIGNED', (event) => {
 *   showAssignee(event.caseId, event.assigneeId)
 *   sessionStorage.setItem('lastEventId', client.lastEventId ?? '')
 * })
 * client.onError((error) => console.warn(error.kind, error.status, error.message))
 */
export function createTidingsClient<M extends EventMapOf<M> = AnyEventMap>(
  options: TidingsClientOptions,
): TidingsClient<M> {
  return new SubscriptionClient<M>(options)
}

class SubscriptionClient<M extends EventMapOf<M>> implements TidingsClient<M> {
  readonly #options: ResolvedClientOptions
  readonly #transport: Transport
  readonly #tracker: EventCursorTracker
  readonly #reconnect: ReconnectPolicy
  #subscriptionId: string | undefined
  #state: ConnectionState = 'connecting'
  #connection: Connection | undefined
  /** Increases with every connection, so callbacks of an older one are ignored. */
  #generation = 0
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined
  /** Whether the current connection received `ESTABLISHED_CONNECTION`. */
  #established = false

  readonly #eventHandlers = new Map<string, ListenerSet<[TidingsEvent, EventInfo]>>()
  readonly #anyEventHandlers = new ListenerSet<[TidingsEvent, EventInfo]>()
  readonly #openHandlers = new ListenerSet<[EstablishedConnection]>()
  readonly #resetHandlers = new ListenerSet<[EstablishedConnection]>()
  readonly #errorHandlers = new ListenerSet<[TidingsClientError]>()
  readonly #stateHandlers = new ListenerSet<[StateChange]>()
  readonly #scheduleHandlers = new ListenerSet<[ReconnectSchedule]>()

  constructor(options: TidingsClientOptions) {
    this.#options = resolveClientOptions(options)
    this.#tracker = new EventCursorTracker(this.#options.cursor)
    this.#reconnect = new ReconnectPolicy(this.#options.backoff, this.#options.maxAttempts)
    this.#subscriptionId = this.#options.subscriptionId
    const { transport, headers, withCredentials } = this.#options
    this.#transport =
      transport.kind === 'fetch'
        ? createFetchTransport({ fetch: transport.fetch, headers, withCredentials })
        : createEventSourceTransport({
            EventSource: transport.EventSource,
            withCredentials,
            eventTypes: () => this.#eventHandlers.keys(),
          })
    this.#connect()
  }

  get state(): ConnectionState {
    return this.#state
  }

  get subscriptionId(): string | undefined {
    return this.#subscriptionId
  }

  get lastEventId(): string | undefined {
    const cursor = this.#tracker.cursor
    return cursor === undefined ? undefined : formatEventCursor(cursor)
  }

  on<K extends keyof M & string>(eventType: K, handler: EventHandler<M[K]>): Unsubscribe {
    let handlers = this.#eventHandlers.get(eventType)
    if (handlers === undefined) {
      handlers = new ListenerSet()
      this.#eventHandlers.set(eventType, handlers)
      this.#connection?.listen(eventType)
    }
    // The map is a compile-time contract: the event of this type is passed on as parsed.
    return handlers.add(handler as unknown as EventHandler<TidingsEvent>)
  }

  onEvent(handler: EventHandler<TidingsEvent>): Unsubscribe {
    return this.#anyEventHandlers.add(handler)
  }

  onOpen(handler: (established: EstablishedConnection) => void): Unsubscribe {
    return this.#openHandlers.add(handler)
  }

  onReset(handler: (established: EstablishedConnection) => void): Unsubscribe {
    return this.#resetHandlers.add(handler)
  }

  onError(handler: (error: TidingsClientError) => void): Unsubscribe {
    return this.#errorHandlers.add(handler)
  }

  onStateChange(handler: (change: StateChange) => void): Unsubscribe {
    return this.#stateHandlers.add(handler)
  }

  onReconnectScheduled(handler: (schedule: ReconnectSchedule) => void): Unsubscribe {
    return this.#scheduleHandlers.add(handler)
  }

  close(): void {
    this.#finish(undefined)
  }

  #connect(): void {
    this.#reconnectTimer = undefined
    this.#established = false
    const generation = ++this.#generation
    const url = buildSubscribeUrl(this.#options.baseUrl, {
      subscriptionId: this.#subscriptionId,
      cursor: this.#tracker.cursor,
    })
    this.#connection = this.#transport(url, {
      onMessage: (message) => {
        if (generation === this.#generation) this.#handleMessage(message)
      },
      onRetry: (delayMs) => {
        if (generation === this.#generation) this.#reconnect.setHubRetry(delayMs)
      },
      onEnd: (failure) => {
        if (generation === this.#generation) this.#handleEnd(failure)
      },
    })
  }

  #handleMessage(message: SseMessage): void {
    if (!this.#established) {
      this.#handleEstablished(message)
      return
    }
    if (this.#tracker.accept(message.id) === 'duplicate') return

    const position = parseEventCursor(message.id)?.position
    const event = parseHubEvent(message.data)
    if (event === undefined) {
      const where = position === undefined ? 'without a hub id' : `at position ${position}`
      this.#errorHandlers.emit(
        new TidingsClientError(
          'parse',
          `Skipped the event ${where}: its data is not a JSON object with a string eventType`,
        ),
      )
      return
    }
    if (event.eventType === ESTABLISHED_CONNECTION) return

    const info: EventInfo = { id: message.id, position }
    this.#eventHandlers.get(event.eventType)?.emit(event, info)
    if (this.#isClosed()) return
    this.#anyEventHandlers.emit(event, info)
  }

  #handleEstablished(message: SseMessage): void {
    const established = parseEstablishedConnection(message.data)
    if (established === undefined) {
      const error = new TidingsClientError(
        'parse',
        `The stream did not start with a valid ${ESTABLISHED_CONNECTION} event; check that the url option points at a Tidings hub`,
      )
      this.#connection?.close()
      this.#handleEnd({ error, permanent: true })
      return
    }

    // `reset: true` requests a reload. A resume that the hub did not perform counts the same.
    const resumeRequested = this.#subscriptionId !== undefined
    const reset = established.reset || (resumeRequested && !established.resumed)
    // A resumed stream may replay events from before the newest one the client has, so the
    // cursor stays. Otherwise the stream starts at the position in this event's id.
    if (
      !established.resumed ||
      this.#tracker.cursor?.subscriptionId !== established.subscriptionId
    ) {
      const cursor = parseEventCursor(message.id)
      this.#tracker.rebase(
        cursor?.subscriptionId === established.subscriptionId ? cursor : undefined,
      )
    }
    this.#subscriptionId = established.subscriptionId
    this.#established = true
    this.#reconnect.recordOpen()

    this.#setState('open', undefined)
    if (this.#isClosed()) return
    this.#openHandlers.emit(established)
    if (reset && !this.#isClosed()) this.#resetHandlers.emit(established)
  }

  #handleEnd(endFailure: ConnectionFailure | undefined): void {
    this.#connection = undefined
    this.#generation++
    let failure = endFailure
    if (failure === undefined && !this.#established) {
      failure = {
        error: new TidingsClientError(
          'network',
          `The hub ended the stream before ${ESTABLISHED_CONNECTION}`,
        ),
        permanent: false,
      }
    }
    if (failure !== undefined) this.#errorHandlers.emit(failure.error)
    if (this.#isClosed()) return
    if (failure?.permanent) {
      this.#finish(failure.error)
      return
    }

    const decision = this.#reconnect.next(failure, this.#established)
    if (decision.kind === 'give-up') {
      this.#errorHandlers.emit(decision.error)
      this.#finish(decision.error)
      return
    }
    this.#reconnectTimer = setTimeout(() => this.#connect(), decision.delayMs)
    this.#setState('reconnecting', failure?.error)
    if (this.#isClosed()) return
    this.#scheduleHandlers.emit({ attempt: decision.attempt, delayMs: decision.delayMs })
  }

  #finish(error: TidingsClientError | undefined): void {
    if (this.#isClosed()) return
    clearTimeout(this.#reconnectTimer)
    this.#reconnectTimer = undefined
    const connection = this.#connection
    this.#connection = undefined
    this.#generation++
    connection?.close()
    this.#setState('closed', error)
  }

  /** A method rather than a field read, because a handler called in between may close the client. */
  #isClosed(): boolean {
    return this.#state === 'closed'
  }

  #setState(state: ConnectionState, error: TidingsClientError | undefined): void {
    const previous = this.#state
    if (previous === state) return
    this.#state = state
    this.#stateHandlers.emit(error === undefined ? { state, previous } : { state, previous, error })
  }
}
