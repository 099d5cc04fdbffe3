/**
 * One open event stream of a subscription, written with socket backpressure.
 *
 * A connection is in one of five states:
 * - `replaying`: it reads the log from its position until it reaches what the hub has dispatched;
 * - `live`: the hub hands it each dispatched event;
 * - `blocked`: its socket buffer is full, so it gets nothing until the buffer drains, and then
 *   replays from its position. Memory per connection stays bounded by one socket buffer;
 * - `ending`: the hub ended the stream and writes nothing more;
 * - `closed`.
 *
 * The switch from `replaying` to `live` happens in the same tick as the check that the position
 * equals the dispatched head, so no event can fall between replay and live delivery. Live delivery
 * skips events at or below the position, so none is written twice.
 * @module
 */
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { ConnectionState } from '../store/event-store.js'
import { eventIdPrefix } from '../wire/event-id.js'
import type { EncodedEvent } from './encoded-event.js'

/** Reason a connection ended. */
export type DisconnectReason =
  'client' | 'server' | 'shutdown' | 'replaced' | 'slow' | 'trimmed' | 'error'

/** Hub operations a connection needs. @internal */
export interface ConnectionHost {
  /** Newest position dispatched to live connections. */
  readonly dispatchedHead: number
  readonly replayBatchSize: number
  readonly slowSubscriberTimeoutMs: number
  /** Reads encoded events after a position, from memory when possible. */
  readForReplay(position: number, limit: number): Promise<EncodedEvent[]>
  setLive(connection: SubscriberConnection, live: boolean): void
  /** Called once when the connection ends, with the state its subscription is left in. */
  connectionClosed(
    connection: SubscriberConnection,
    reason: DisconnectReason,
    state: ConnectionState,
  ): void
  replayFailed(connection: SubscriberConnection, err: unknown): void
}

type ConnectionPhase = 'replaying' | 'live' | 'blocked' | 'ending' | 'closed'

let lastConnectionId = 0

/** Sockets that carry an open event stream. */
const streamingSockets = new WeakSet<Socket>()

/**
 * Returns whether the socket carries an open event stream. A request that arrives on such a socket
 * was pipelined behind a stream that never ends, so its response could never be sent.
 */
export function carriesEventStream(socket: Socket | null | undefined): boolean {
  return socket != null && streamingSockets.has(socket)
}

/** @internal */
export class SubscriberConnection {
  /** Process-wide connection number, for logs. */
  readonly connectionId = ++lastConnectionId
  readonly subscriptionId: string
  readonly startedAt = Date.now()
  /** Position of the last event written to the socket. */
  position: number
  /** Position last written to the store, to find connections whose record is stale. */
  recordedPosition: number
  /** Time the store record was last refreshed, in milliseconds since the epoch. */
  recordedAt: number
  eventsSent = 0
  /** Whether anything was written since the last heartbeat tick. */
  wroteSinceTick = false
  readonly #host: ConnectionHost
  readonly #res: ServerResponse
  readonly #idPrefix: string
  #phase: ConnectionPhase = 'replaying'
  #endReason: DisconnectReason | undefined
  /** Set when the stream may have lost written bytes: a socket error, or a destroy by the hub. */
  #unclean = false
  #slowTimer: NodeJS.Timeout | undefined
  readonly #closeListeners: (() => void)[] = []

  constructor(
    host: ConnectionHost,
    res: ServerResponse,
    subscriptionId: string,
    position: number,
    recordedAt: number,
  ) {
    this.#host = host
    this.#res = res
    this.subscriptionId = subscriptionId
    this.position = position
    this.recordedPosition = position
    this.recordedAt = recordedAt
    this.#idPrefix = eventIdPrefix(subscriptionId)
    if (res.socket) streamingSockets.add(res.socket)
    res.once('close', () => this.#onClose())
    // An error on the response or socket means written bytes may not have arrived. Listening
    // also keeps the error from becoming an uncaught exception.
    const markUnclean = (): void => {
      this.#unclean = true
    }
    res.on('error', markUnclean)
    res.socket?.once('error', markUnclean)
  }

  get isClosed(): boolean {
    return this.#phase === 'closed'
  }

  /** Calls `listener` once the connection has closed, at once if it already has. */
  onClosed(listener: () => void): void {
    if (this.#phase === 'closed') listener()
    else this.#closeListeners.push(listener)
  }

  /** Writes the stream's first bytes, then replays from the position. */
  start(preamble: string): void {
    if (!this.#res.write(preamble)) {
      this.#block()
      return
    }
    void this.#replay()
  }

  /** Delivers a dispatched event to a live connection. */
  deliver(event: EncodedEvent): void {
    if (event.position <= this.position) return
    if (event.position !== this.position + 1) {
      // Unreachable while the hub dispatches in order; replaying restores order if it happens.
      this.#host.setLive(this, false)
      this.#phase = 'replaying'
      void this.#replay()
      return
    }
    if (!this.#write(event)) this.#block()
  }

  /** Writes a comment line if nothing else was written since the last tick. */
  heartbeat(comment: string): void {
    if (this.#phase !== 'live') return
    if (this.wroteSinceTick) {
      this.wroteSinceTick = false
      return
    }
    if (!this.#res.write(comment)) this.#block()
  }

  /** Ends the stream from the server side. The client reconnects after its retry delay. */
  end(reason: DisconnectReason): void {
    if (this.#phase === 'closed' || this.#phase === 'ending') return
    this.#endReason = reason
    this.#stopWriting()
    this.#res.end()
  }

  /** Destroys the socket at once, for connections that cannot be ended cleanly. */
  destroy(reason: DisconnectReason): void {
    if (this.#phase === 'closed') return
    this.#endReason ??= reason
    this.#unclean = true
    this.#stopWriting()
    this.#res.destroy()
  }

  /** Leaves every write path: live delivery, replay and the wait for a drain. */
  #stopWriting(): void {
    if (this.#phase === 'blocked') this.#unclean = true
    this.#phase = 'ending'
    clearTimeout(this.#slowTimer)
    this.#host.setLive(this, false)
  }

  #write(event: EncodedEvent): boolean {
    this.position = event.position
    this.eventsSent++
    this.wroteSinceTick = true
    const idLine = `id: ${this.#idPrefix}${event.position}\n\n`
    if (!event.bodyBytes) return this.#res.write(event.body + idLine)
    // Corked, the shared bytes and the id line leave in one system call.
    this.#res.cork()
    this.#res.write(event.bodyBytes)
    const accepted = this.#res.write(idLine)
    this.#res.uncork()
    return accepted
  }

  async #replay(): Promise<void> {
    while (this.#phase === 'replaying') {
      const head = this.#host.dispatchedHead
      if (this.position >= head) {
        this.#phase = 'live'
        this.#host.setLive(this, true)
        return
      }
      let events: EncodedEvent[]
      try {
        const limit = Math.min(this.#host.replayBatchSize, head - this.position)
        events = await this.#host.readForReplay(this.position, limit)
      } catch (err) {
        this.#host.replayFailed(this, err)
        this.destroy('error')
        return
      }
      if (this.#phase !== 'replaying') return
      if (events[0]?.position !== this.position + 1) {
        // Retention removed events this connection had not received yet. Ending the stream lets
        // the client resume, and the resume signals a reset.
        this.end('trimmed')
        return
      }
      for (const event of events) {
        if (!this.#write(event)) {
          this.#block()
          return
        }
      }
    }
  }

  /** Waits for the socket to drain, then replays what was dispatched meanwhile. */
  #block(): void {
    if (this.#phase === 'closed' || this.#phase === 'ending') return
    this.#host.setLive(this, false)
    this.#phase = 'blocked'
    this.#slowTimer = setTimeout(() => this.destroy('slow'), this.#host.slowSubscriberTimeoutMs)
    this.#slowTimer.unref()
    this.#res.once('drain', () => {
      clearTimeout(this.#slowTimer)
      if (this.#phase !== 'blocked') return
      this.#phase = 'replaying'
      void this.#replay()
    })
  }

  #onClose(): void {
    if (this.#phase === 'closed') return
    // Clean: nothing failed, the socket was never left full, and every byte written was handed to
    // the operating system. A full socket buffer means the client had not read everything yet.
    const unread =
      this.#phase === 'blocked' || !(this.#res.writableFinished || this.#res.writableLength === 0)
    const clean = !this.#unclean && !unread
    this.#phase = 'closed'
    clearTimeout(this.#slowTimer)
    if (this.#res.socket) streamingSockets.delete(this.#res.socket)
    this.#host.setLive(this, false)
    this.#host.connectionClosed(this, this.#endReason ?? 'client', clean ? 'closed' : 'failed')
    for (const listener of this.#closeListeners) listener()
  }
}
