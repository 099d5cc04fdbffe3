/**
 * The hub: publishes events to the log, opens and resumes subscriptions, and fans dispatched
 * events out to every live connection.
 *
 * Delivery reads one ordered log. The hub dispatches log events in position order, each encoded
 * once, to live connections. Connections that are behind replay from the log (through a cache of
 * recent events) until they reach the dispatched head. This file keeps the publish and fan-out
 * path together on purpose.
 * @module
 */
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { ServerResponse } from 'node:http'
import { DEFAULTS, ESTABLISHED_CONNECTION, SSE_RESPONSE_HEADERS } from '../constants.js'
import {
  HubClosedError,
  InvalidEventError,
  StoreUnavailableError,
  TidingsError,
} from '../errors.js'
import {
  EstablishedConnectionEvent,
  prepareEventJson,
  serializeEvent,
} from '../events/base-sse-event.js'
import { parseJsonText } from '../json-text.js'
import type {
  AppendNotice,
  ConnectionState,
  EventStore,
  StoredEvent,
  SubscriptionUpdate,
} from '../store/event-store.js'
import { formatEventId } from '../wire/event-id.js'
import { encodeComment, encodeFrame, encodeRetry } from '../wire/sse-frame.js'
import { encodeEvent, type EncodedEvent } from './encoded-event.js'
import { RecentEvents } from './recent-events.js'
import { planResume, requestedSubscriptionId, type ResumeRequest } from './resume-plan.js'
import {
  resolveOptions,
  type ResolvedOptions,
  type SseSubscriptionServiceOptions,
} from './service-options.js'
import type { MaintenanceInfo, SseSubscriptionServiceEvents } from './service-events.js'
import {
  SubscriberConnection,
  type ConnectionHost,
  type DisconnectReason,
} from './subscriber-connection.js'

/** A published event: its position in the log. */
export interface PublishedEvent {
  readonly position: number
  readonly eventType: string
}

/** A client's request to open or resume a subscription. */
export interface SubscribeRequest extends ResumeRequest {
  /** The response to stream into. The service writes its status, headers and body. */
  readonly res: ServerResponse
}

/** Resolves true when `promise` settles within `ms`, false otherwise. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  const settled = promise.then(
    () => true,
    () => true,
  )
  return Promise.race([settled, timeout]).finally(() => clearTimeout(timer))
}

/** Wraps a store failure so that callers see one error code for "nothing was stored". */
function storeError(action: string, err: unknown): TidingsError {
  if (err instanceof TidingsError) return err
  return new StoreUnavailableError(`Store failed to ${action}; nothing was changed`, { cause: err })
}

/**
 * Publishes events and serves subscriptions. One instance per process and store.
 *
 * @example
 * const service = new SseSubscriptionService({ store: new SqliteStore({ path: './data/hub.db' }) })
 * await service.notifySubscribers(new CaseCreatedEvent('case-1'))
 */
export class SseSubscriptionService
  extends EventEmitter<SseSubscriptionServiceEvents>
  implements ConnectionHost
{
  readonly store: EventStore
  readonly #options: ResolvedOptions
  readonly #recent: RecentEvents
  readonly #live = new Set<SubscriberConnection>()
  readonly #connections = new Map<string, SubscriberConnection>()
  readonly #ready: Promise<void>
  readonly #timers: NodeJS.Timeout[] = []
  readonly #unwatch: () => void
  readonly #heartbeat: string
  /** Store writes of closing connections, awaited before the store closes. */
  readonly #pendingRecords = new Set<Promise<void>>()
  #dispatchedHead = 0
  #knownHead = 0
  #tailReading = false
  #closed = false

  constructor(options: SseSubscriptionServiceOptions) {
    super()
    this.store = options.store
    this.#options = resolveOptions(options)
    this.#recent = new RecentEvents(
      this.#options.recentEventCacheSize,
      this.#options.recentEventCacheChars,
    )
    this.#heartbeat = encodeComment('')
    this.#unwatch = this.store.watch((notice) => this.#onAppend(notice))
    this.#ready = this.#start()
    // Unobserved until a method awaits it; the failure is reported there.
    this.#ready.catch(() => {})
  }

  get dispatchedHead(): number {
    return this.#dispatchedHead
  }

  get replayBatchSize(): number {
    return this.#options.replayBatchSize
  }

  get slowSubscriberTimeoutMs(): number {
    return this.#options.slowSubscriberTimeoutMs
  }

  /** Number of open event streams. */
  get connectionCount(): number {
    return this.#connections.size
  }

  /** Resolves once the service has read the log's head; rejects when the store failed. */
  ready(): Promise<void> {
    return this.#ready
  }

  async #start(): Promise<void> {
    const { head } = await this.store.bounds()
    this.#dispatchedHead = Math.max(this.#dispatchedHead, head)
    this.#knownHead = Math.max(this.#knownHead, head)
    const { heartbeatIntervalMs, positionFlushIntervalMs, maintenanceIntervalMs } = this.#options
    this.#every(heartbeatIntervalMs, () => this.#sendHeartbeats())
    this.#every(positionFlushIntervalMs, () => void this.#flushPositions())
    this.#every(maintenanceIntervalMs, () => void this.runMaintenance())
    if (this.store.shared)
      this.#every(this.#options.headPollIntervalMs, () => void this.#pollHead())
  }

  /** Reads the head of a shared log and dispatches what no notice announced. */
  async #pollHead(): Promise<void> {
    if (this.#tailReading) return
    let head: number
    try {
      head = (await this.store.bounds()).head
    } catch {
      // The store is unreachable; publishers and new subscribers see the error, and the next
      // poll tries again.
      return
    }
    if (head > this.#knownHead) this.#knownHead = head
    if (this.#knownHead > this.#dispatchedHead) void this.#readTail()
  }

  #every(intervalMs: number, task: () => void): void {
    const timer = setInterval(task, intervalMs)
    timer.unref()
    this.#timers.push(timer)
  }

  /**
   * Appends an event to the log; every matching subscription receives it.
   *
   * @param event a `BaseSseEvent` or any object with a string `eventType`.
   * @returns the event's position, once the store has accepted it.
   * @throws {InvalidEventError} when the event has no valid `eventType` or cannot be serialized.
   * @throws {StoreUnavailableError} when the store failed; nothing was published.
   * @throws {HubClosedError} after `close()`.
   */
  async notifySubscribers(event: object): Promise<PublishedEvent> {
    this.#assertOpen()
    return this.#append(serializeEvent(event))
  }

  /**
   * Publishes an event given as JSON text, such as a request body, keeping the text as sent.
   * @throws {InvalidJsonError} when the text is not JSON.
   * @throws {InvalidEventError}, {StoreUnavailableError}, {HubClosedError} as `notifySubscribers`.
   */
  async publishJson(text: string): Promise<PublishedEvent> {
    this.#assertOpen()
    return this.#append(prepareEventJson(text, parseJsonText(text)))
  }

  async #append({ eventType, json }: { eventType: string; json: string }): Promise<PublishedEvent> {
    if (eventType === ESTABLISHED_CONNECTION) {
      throw new InvalidEventError(
        `Event type "${ESTABLISHED_CONNECTION}" is reserved for the hub; choose another eventType`,
      )
    }
    await this.#ready
    let stored: StoredEvent
    try {
      stored = await this.store.append({ eventType, json })
    } catch (err) {
      throw storeError('append the event', err)
    }
    return { position: stored.position, eventType }
  }

  /**
   * Opens or resumes a subscription and streams it into `request.res`.
   * Resolves once the stream has started; the stream then runs until either side ends it.
   * @throws {StoreUnavailableError} when the store failed; nothing was written to `res`.
   * @throws {HubClosedError} after `close()`.
   */
  async subscribe(request: SubscribeRequest): Promise<void> {
    this.#assertOpen()
    await this.#ready
    const requestedId = requestedSubscriptionId(request)
    let plan
    let now
    try {
      const [record, bounds] = await Promise.all([
        requestedId === undefined ? undefined : this.store.getSubscription(requestedId),
        this.store.bounds(),
      ])
      now = this.#options.now()
      const unexpired =
        record && now - record.lastSeenAt <= this.#options.subscriptionTtlMs ? record : undefined
      plan = planResume(request, {
        record: unexpired,
        openConnectionPosition:
          requestedId === undefined ? undefined : this.#connections.get(requestedId)?.position,
        bounds,
        uncleanResumeWindow: this.#options.uncleanResumeWindow,
      })
      if (plan.kind !== 'resume') {
        const subscriptionId = (plan.kind === 'reset' && plan.subscriptionId) || randomUUID()
        const position = bounds.head
        const base = {
          id: subscriptionId,
          position,
          startPosition: position,
          connectionState: 'open' as const,
          lastSeenAt: now,
        }
        if (plan.kind === 'reset' && plan.subscriptionId) {
          await this.store.updateSubscriptions([base])
        } else {
          await this.store.createSubscription({ ...base, createdAt: now })
        }
        this.#attach(request.res, subscriptionId, position, plan)
        return
      }
      await this.store.updateSubscriptions([
        { id: plan.subscriptionId, connectionState: 'open', lastSeenAt: now },
      ])
    } catch (err) {
      throw storeError('open the subscription', err)
    }
    this.#attach(request.res, plan.subscriptionId, plan.fromPosition, plan)
  }

  #attach(
    res: ServerResponse,
    subscriptionId: string,
    position: number,
    plan: ReturnType<typeof planResume>,
  ): void {
    if (res.destroyed || res.writableEnded || !res.socket) {
      // The client left while the subscription was looked up, or the request was pipelined behind
      // another response on its socket, which an event stream never ends. Nothing was written.
      if (!res.destroyed && !res.socket) res.req.socket.destroy()
      this.#recordClose(subscriptionId, position, 'closed')
      return
    }
    this.#connections.get(subscriptionId)?.end('replaced')
    const now = this.#options.now()
    const connection = new SubscriberConnection(this, res, subscriptionId, position, now)
    this.#connections.set(subscriptionId, connection)

    const resumed = plan.kind === 'resume'
    const reset = plan.kind === 'reset'
    const established = new EstablishedConnectionEvent(subscriptionId, resumed, reset)
    const preamble =
      encodeRetry(this.#options.retryMs) +
      encodeFrame({
        ...(this.#options.namedEvents ? { event: ESTABLISHED_CONNECTION } : {}),
        data: JSON.stringify(established),
        id: formatEventId({ subscriptionId, position }),
      })
    res.writeHead(200, SSE_RESPONSE_HEADERS)
    res.socket?.setNoDelay(true)
    connection.start(preamble)

    this.emit('connected', {
      subscriptionId,
      connectionId: connection.connectionId,
      resumed,
      reset,
      ...(plan.kind === 'reset' ? { resetReason: plan.reason } : {}),
      fromPosition: position,
      missedEvents: Math.max(0, this.#dispatchedHead - position),
      openConnections: this.#connections.size,
    })
  }

  /** @internal */
  setLive(connection: SubscriberConnection, live: boolean): void {
    if (live) this.#live.add(connection)
    else this.#live.delete(connection)
  }

  /** @internal */
  async readForReplay(position: number, limit: number): Promise<EncodedEvent[]> {
    const cached = this.#recent.readAfter(position, limit)
    if (cached) return cached
    const events = await this.store.readAfter(position, limit)
    return events.map((event) => encodeEvent(event, this.#options.namedEvents))
  }

  /** @internal */
  replayFailed(connection: SubscriberConnection, err: unknown): void {
    this.emit('failed', { kind: 'replay', err, subscriptionId: connection.subscriptionId })
  }

  /** @internal */
  connectionClosed(
    connection: SubscriberConnection,
    reason: DisconnectReason,
    state: ConnectionState,
  ): void {
    const current = this.#connections.get(connection.subscriptionId) === connection
    if (current) {
      this.#connections.delete(connection.subscriptionId)
      // A connection that was replaced leaves the record to its successor.
      this.#recordClose(connection.subscriptionId, connection.position, state)
    }
    this.emit('disconnected', {
      subscriptionId: connection.subscriptionId,
      connectionId: connection.connectionId,
      reason,
      connectionState: state,
      durationMs: Date.now() - connection.startedAt,
      eventsSent: connection.eventsSent,
      openConnections: this.#connections.size,
    })
  }

  #recordClose(subscriptionId: string, position: number, state: ConnectionState): void {
    const update = {
      id: subscriptionId,
      position,
      connectionState: state,
      lastSeenAt: this.#options.now(),
    }
    const write = this.store.updateSubscriptions([update]).catch((err: unknown) => {
      this.emit('failed', { kind: 'close-record', err, subscriptionId })
    })
    this.#pendingRecords.add(write)
    void write.finally(() => this.#pendingRecords.delete(write))
  }

  #onAppend(notice: AppendNotice): void {
    if (notice.head > this.#knownHead) this.#knownHead = notice.head
    const { event } = notice
    if (event && event.position === this.#dispatchedHead + 1 && !this.#tailReading) {
      this.#dispatch(event)
      return
    }
    if (this.#knownHead > this.#dispatchedHead) void this.#readTail()
  }

  /** Reads appends that arrived without their event, or out of order, and dispatches them. */
  async #readTail(): Promise<void> {
    if (this.#tailReading) return
    this.#tailReading = true
    try {
      while (!this.#closed && this.#knownHead > this.#dispatchedHead) {
        const events = await this.store.readAfter(
          this.#dispatchedHead,
          this.#options.replayBatchSize,
        )
        const first = events[0]
        if (!first) break
        if (first.position > this.#dispatchedHead + 1) this.#skipTrimmed(first.position - 1)
        for (const event of events) {
          if (event.position === this.#dispatchedHead + 1) this.#dispatch(event)
        }
      }
    } catch (err) {
      this.emit('failed', { kind: 'tail', err })
    } finally {
      this.#tailReading = false
    }
  }

  /**
   * Moves the dispatched head over events that retention removed before this hub dispatched them,
   * which happens only when it fell far behind a shared log. Live streams would miss them, so
   * they end, and their clients resume with a reset.
   */
  #skipTrimmed(position: number): void {
    for (const connection of [...this.#live]) connection.end('trimmed')
    this.#dispatchedHead = position
  }

  #dispatch(event: StoredEvent): void {
    const encoded = encodeEvent(event, this.#options.namedEvents)
    this.#recent.add(encoded)
    this.#dispatchedHead = event.position
    for (const connection of this.#live) connection.deliver(encoded)
  }

  #sendHeartbeats(): void {
    for (const connection of this.#live) connection.heartbeat(this.#heartbeat)
  }

  /** Writes changed positions, and refreshes the last-seen time of every open subscription. */
  async #flushPositions(): Promise<void> {
    const now = this.#options.now()
    const updates: SubscriptionUpdate[] = []
    const refreshBefore = now - this.#options.subscriptionTtlMs / 4
    for (const connection of this.#connections.values()) {
      const moved = connection.position !== connection.recordedPosition
      if (!moved && connection.recordedAt >= refreshBefore) continue
      updates.push({
        id: connection.subscriptionId,
        position: connection.position,
        lastSeenAt: now,
      })
      connection.recordedPosition = connection.position
      connection.recordedAt = now
    }
    if (updates.length === 0) return
    try {
      await this.store.updateSubscriptions(updates)
    } catch (err) {
      this.emit('failed', { kind: 'position-flush', err })
    }
  }

  /** Applies retention to the log and expires unseen subscriptions. Runs on a timer too. */
  async runMaintenance(): Promise<MaintenanceInfo | undefined> {
    if (this.#closed) return undefined
    const now = this.#options.now()
    try {
      const trimmedEvents = await this.store.trim({
        appendedBefore: now - this.#options.retentionMaxAgeMs,
        maxEvents: this.#options.retentionMaxEvents,
      })
      const expiredSubscriptions = await this.store.expireSubscriptions(
        now - this.#options.subscriptionTtlMs,
      )
      const info = { trimmedEvents, expiredSubscriptions }
      this.emit('maintained', info)
      return info
    } catch (err) {
      this.emit('failed', { kind: 'maintenance', err })
      return undefined
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new HubClosedError('Hub is shutting down; retry on another instance')
  }

  /**
   * Ends every stream (clients resume elsewhere or after a restart), records positions and closes
   * the store. Streams that do not finish within `graceMs` are destroyed.
   */
  async close(graceMs: number = DEFAULTS.shutdownGraceMs): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const timer of this.#timers) clearInterval(timer)
    this.#unwatch()
    await this.#ready.catch(() => {})
    const connections = [...this.#connections.values()]
    const closedAll = Promise.all(
      connections.map((connection) => new Promise<void>((resolve) => connection.onClosed(resolve))),
    )
    for (const connection of connections) connection.end('shutdown')
    if (!(await settlesWithin(closedAll, graceMs))) {
      for (const connection of connections) connection.destroy('shutdown')
      await settlesWithin(closedAll, 1_000)
    }
    await Promise.all(this.#pendingRecords)
    await this.store.close()
  }
}
