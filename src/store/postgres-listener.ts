/**
 * The connection of `PostgresStore` that listens for the notifications of appends, and reconnects
 * when it is lost.
 * @module
 */
import pg from 'pg'
import type { AppendListeners } from './append-listeners.js'
import type { PostgresOutageLog } from './postgres-outage-log.js'

const LISTENER_MIN_DELAY_MS = 250
const LISTENER_MAX_DELAY_MS = 10_000
/** A listening connection that lasted this long resets the reconnect delay to its minimum. */
const LISTENER_STABLE_MS = 30_000

/**
 * Settings and callbacks that a store gives its `PostgresListener`.
 * @internal
 */
export interface PostgresListenerOptions {
  /** Settings of the listening connection. */
  readonly config: pg.ClientConfig
  /** Channel that appends notify, `tidings:<schema>`. */
  readonly channel: string
  /** Schema, quoted as an identifier, whose `log_state` table has the head. */
  readonly quotedSchema: string
  /** Id that marks the notifications of the store's own appends, which the listener skips. */
  readonly origin: string
  /** Listeners of the store, notified of the appends of other hubs. */
  readonly listeners: AppendListeners
  readonly log: PostgresOutageLog
  /** Returns true once the store is closing. */
  readonly isClosed: () => boolean
}

/**
 * Listens on the channel of a store's schema for appends made through other stores, and notifies
 * the store's listeners of the new head.
 * @internal
 */
export class PostgresListener {
  readonly #config: pg.ClientConfig
  readonly #channel: string
  readonly #quotedSchema: string
  readonly #origin: string
  readonly #listeners: AppendListeners
  readonly #log: PostgresOutageLog
  readonly #isClosed: () => boolean
  #client: pg.Client | undefined
  #listenerConnectedAt = 0
  #listenerDelayMs = LISTENER_MIN_DELAY_MS
  #listenerFailures = 0
  #reconnectTimer: NodeJS.Timeout | undefined

  constructor(options: PostgresListenerOptions) {
    this.#config = options.config
    this.#channel = options.channel
    this.#quotedSchema = options.quotedSchema
    this.#origin = options.origin
    this.#listeners = options.listeners
    this.#log = options.log
    this.#isClosed = options.isClosed
  }

  /** Opens the listening connection, and ends it at once when the store closed meanwhile. */
  async start(): Promise<void> {
    const listener = await this.#connectListener()
    if (this.#isClosed()) {
      void listener.end().catch(() => {})
      return
    }
    this.#adoptListener(listener)
  }

  /** Stops reconnecting, and ends the listening connection when there is one. */
  async close(): Promise<void> {
    clearTimeout(this.#reconnectTimer)
    const client = this.#client
    this.#client = undefined
    await client?.end()
  }

  /** Opens a connection that listens on the channel, and returns it. */
  async #connectListener(): Promise<pg.Client> {
    const client = new pg.Client(this.#config)
    client.on('error', (err) => this.#onListenerLost(client, err))
    client.on('end', () => this.#onListenerLost(client, undefined))
    client.on('notification', (message) => this.#onNotification(message))
    try {
      await client.connect()
      await client.query(`LISTEN ${pg.escapeIdentifier(this.#channel)}`)
      return client
    } catch (err) {
      void client.end().catch(() => {})
      throw err
    }
  }

  #adoptListener(client: pg.Client): void {
    this.#client = client
    this.#listenerConnectedAt = performance.now()
  }

  #onNotification(message: pg.Notification): void {
    if (message.channel !== this.#channel || message.payload === undefined) return
    const [positionText, origin] = message.payload.split(' ')
    if (origin === this.#origin) return
    const head = Number(positionText)
    if (Number.isSafeInteger(head)) this.#listeners.notify({ head })
  }

  #onListenerLost(client: pg.Client, err: Error | undefined): void {
    if (client !== this.#client) return
    this.#client = undefined
    void client.end().catch(() => {})
    if (this.#isClosed()) return
    if (performance.now() - this.#listenerConnectedAt >= LISTENER_STABLE_MS) {
      this.#listenerDelayMs = LISTENER_MIN_DELAY_MS
    }
    this.#log.warnLimited({ err }, 'store listener connection lost')
    this.#scheduleListenerReconnect()
  }

  /**
   * Reconnects the listener after a delay that doubles up to 10 s, with jitter so that hubs
   * restarted together spread out. Once it listens again, it announces the current head.
   */
  #scheduleListenerReconnect(): void {
    const delay = this.#listenerDelayMs * (0.75 + Math.random() * 0.5)
    this.#listenerDelayMs = Math.min(this.#listenerDelayMs * 2, LISTENER_MAX_DELAY_MS)
    this.#reconnectTimer = setTimeout(() => void this.#reconnectListener(), delay)
    this.#reconnectTimer.unref()
  }

  async #reconnectListener(): Promise<void> {
    let client: pg.Client | undefined
    let head: number
    try {
      client = await this.#connectListener()
      // Read after LISTEN, so that every later append is heard.
      const { rows } = await client.query<{ value: string }>(
        `SELECT value FROM ${this.#quotedSchema}.log_state WHERE key = 'head'`,
      )
      head = Number(rows[0]!.value)
    } catch (err) {
      void client?.end().catch(() => {})
      if (this.#isClosed()) return
      this.#listenerFailures++
      this.#log.warnLimited(
        { err, attempts: this.#listenerFailures },
        'store listener reconnect failed',
      )
      this.#scheduleListenerReconnect()
      return
    }
    if (this.#isClosed()) {
      void client.end().catch(() => {})
      return
    }
    this.#adoptListener(client)
    this.#log.info({ attempts: this.#listenerFailures + 1, head }, 'store listener reconnected')
    this.#listenerFailures = 0
    this.#listeners.notify({ head })
  }
}
