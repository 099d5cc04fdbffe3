/**
 * An event store in PostgreSQL, shared by several hub processes that publish to and serve one log.
 *
 * Tables, in the schema named by the `schema` option (default `tidings`):
 *
 * - `events (position bigint primary key, event_type text, json text, created_at bigint)`: the
 *   retained events, `created_at` in milliseconds since the epoch.
 * - `log_state (key text primary key, value bigint)`: the rows `head` (newest position appended),
 *   `trimmed_through` (newest position removed by retention) and `schema_version`.
 * - `subscriptions (id, position, start_position, connection_state, created_at, last_seen_at)`,
 *   indexed on `last_seen_at` for expiry.
 *
 * Ordering: an append takes its position by incrementing the `head` row in the same statement that
 * inserts the event. The row lock on `head` is held until the append commits, so the next append
 * waits for that commit before it reads `head`. Positions are therefore contiguous, commit in
 * position order, and a reader that can read position N + 1 can also read N. A sequence would not
 * give this, because its values are handed out before commit and transactions commit in any order.
 *
 * Notices: each append calls `pg_notify` on a channel named after the schema, so hubs on other
 * schemas do not hear it. A dedicated connection listens on that channel and reconnects when it is
 * lost. Notifications sent while it was away are lost, so after reconnecting it emits one notice
 * with the current head. Appends made through this store are announced with their event at once,
 * and their notifications are skipped.
 *
 * Needs PostgreSQL 11 or newer, for `hashtextextended`. The tests run against PostgreSQL 15.
 * @module
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { InvalidOptionError, StoreUnavailableError, quoteForMessage } from '../errors.js'
import { AppendListeners } from './append-listeners.js'
import type {
  AppendNotice,
  EventStore,
  LogBounds,
  NewEvent,
  RetentionPolicy,
  StoredEvent,
  StoreLogger,
  SubscriptionRecord,
  SubscriptionUpdate,
} from './event-store.js'
import { CLIENT_TIMEOUT_MARGIN_MS, OpenSockets, createClientConfig } from './postgres-connection.js'
import { QUERY_CANCELED_SQLSTATE, isConnectionError } from './postgres-errors.js'
import { PostgresListener } from './postgres-listener.js'
import { PostgresOutageLog } from './postgres-outage-log.js'
import {
  type EventRow,
  type SubscriptionRow,
  mergeUpdates,
  toBigintBound,
  toStoredEvent,
  toSubscription,
} from './postgres-rows.js'
import { migrateSchema } from './postgres-schema.js'
import { checkSchema, checkUrl, describeServer } from './postgres-store-url.js'

export { parsePostgresStoreUrl } from './postgres-store-url.js'

/** Options of `PostgresStore`. */
export interface PostgresStoreOptions {
  /** Connection URL, such as `postgres://user@host:5432/database`. */
  readonly url: string
  /**
   * Schema that contains the tables, created when missing. Hubs that share a log use the same
   * schema. Lowercase letters, digits and `_`, at most 55 characters. Default `tidings`.
   */
  readonly schema?: string
  /** Maximum number of pooled connections, besides the one that listens for appends. Default 10. */
  readonly poolSize?: number
  /** Time allowed to open a connection, in milliseconds. Default 3,000. */
  readonly connectTimeoutMs?: number
  /** Time a statement may run before it is cancelled and fails, in milliseconds. Default 10,000. */
  readonly queryTimeoutMs?: number
  /**
   * `application_name` of the pooled connections. The listening connection gets the same name
   * with a ` listener` suffix. Printable ASCII, at most 54 characters. Default `tidings`.
   */
  readonly applicationName?: string
  /** Clock in milliseconds since the epoch; tests replace it. Default `Date.now`. */
  readonly now?: () => number
  /** Receives connection loss and recovery. Default silent. */
  readonly logger?: StoreLogger
}

const DEFAULT_SCHEMA = 'tidings'
const DEFAULT_POOL_SIZE = 10
const DEFAULT_CONNECT_TIMEOUT_MS = 3_000
const DEFAULT_QUERY_TIMEOUT_MS = 10_000
const DEFAULT_APPLICATION_NAME = 'tidings'

const APPLICATION_NAME_PATTERN = /^[\x20-\x7e]{1,54}$/

const IDLE_CONNECTION_TIMEOUT_MS = 30_000

const SILENT_LOGGER: StoreLogger = { info() {}, warn() {}, error() {} }

function checkPositiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidOptionError(
      `Invalid ${name} ${quoteForMessage(value)}; expected a positive integer`,
    )
  }
  return value
}

function checkApplicationName(value: unknown): string {
  if (typeof value !== 'string' || !APPLICATION_NAME_PATTERN.test(value)) {
    throw new InvalidOptionError(
      `Invalid applicationName ${quoteForMessage(value)}; expected 1 to 54 printable ASCII characters`,
    )
  }
  return value
}

/**
 * Keeps the log and subscriptions in PostgreSQL through `pg`, for hubs that share one log.
 *
 * The constructor checks options and connects nothing. `init()` sets up the schema and opens the
 * listening connection, and every method awaits it. `PostgresStore.open` constructs and
 * initializes in one step. Operations fail with `StoreUnavailableError` while the server is
 * unreachable, and work again once it is back.
 * @example
 * const store = await PostgresStore.open({ url: 'postgres://tidings@db/app', schema: 'hub' })
 */
export class PostgresStore implements EventStore {
  readonly kind = 'postgres'
  readonly shared = true
  readonly #pool: pg.Pool
  readonly #listener: PostgresListener
  readonly #schema: string
  readonly #quotedSchema: string
  readonly #channel: string
  readonly #server: string
  readonly #queryTimeoutMs: number
  readonly #now: () => number
  readonly #outageLog: PostgresOutageLog
  readonly #listeners = new AppendListeners()
  /** Marks this store's notifications, so that its listener skips the appends it announced. */
  readonly #origin = randomUUID()
  /** Open sockets of the pool and the listener, destroyed when `close()` times out. */
  readonly #sockets = new OpenSockets()
  #initializing: Promise<void> | undefined
  #closing: Promise<void> | undefined
  #closed = false

  /**
   * Checks the options and creates the connection pool, which connects on first use.
   * @throws {InvalidOptionError} for an invalid URL, schema, pool size, timeout or application
   *   name, or a URL with a `schema` parameter (use `parsePostgresStoreUrl`).
   */
  constructor(options: PostgresStoreOptions) {
    const url = checkUrl(options.url)
    if (url.searchParams.has('schema')) {
      throw new InvalidOptionError(
        'PostgreSQL URL has a schema parameter; pass the URL through parsePostgresStoreUrl or give the schema option',
      )
    }
    this.#schema = checkSchema(options.schema ?? DEFAULT_SCHEMA)
    const poolSize = checkPositiveInteger('poolSize', options.poolSize ?? DEFAULT_POOL_SIZE)
    const connectTimeoutMs = checkPositiveInteger(
      'connectTimeoutMs',
      options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    )
    this.#queryTimeoutMs = checkPositiveInteger(
      'queryTimeoutMs',
      options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
    )
    const applicationName = checkApplicationName(
      options.applicationName ?? DEFAULT_APPLICATION_NAME,
    )
    this.#quotedSchema = pg.escapeIdentifier(this.#schema)
    this.#channel = `tidings:${this.#schema}`
    this.#server = describeServer(url)
    this.#now = options.now ?? Date.now
    this.#outageLog = new PostgresOutageLog(
      options.logger ?? SILENT_LOGGER,
      { store: this.kind, server: this.#server, schema: this.#schema },
      () => this.#closed,
    )

    const clientConfig = createClientConfig({
      url: options.url,
      connectTimeoutMs,
      queryTimeoutMs: this.#queryTimeoutMs,
      stream: () => this.#sockets.create(),
    })
    this.#listener = new PostgresListener({
      config: { ...clientConfig, application_name: `${applicationName} listener` },
      channel: this.#channel,
      quotedSchema: this.#quotedSchema,
      origin: this.#origin,
      listeners: this.#listeners,
      log: this.#outageLog,
      isClosed: () => this.#closed,
    })
    this.#pool = new pg.Pool({
      ...clientConfig,
      application_name: applicationName,
      max: poolSize,
      idleTimeoutMillis: IDLE_CONNECTION_TIMEOUT_MS,
    })
    // An idle connection that fails (a server restart, an administrator's terminate) leaves the
    // pool on its own. Without this listener, the error would crash the process.
    this.#pool.on('error', (err) => this.#outageLog.markUnreachable(err))
  }

  /**
   * Constructs a store and initializes it.
   * @throws {InvalidOptionError} for invalid options.
   * @throws {StoreUnavailableError} when the server cannot be reached or the schema set up.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options)
    try {
      await store.init()
    } catch (err) {
      await store.close()
      throw err
    }
    return store
  }

  /**
   * Sets up the schema and opens the listening connection. Runs once, unless it fails, in which
   * case the next call or operation tries again.
   * @throws {StoreUnavailableError} when the server cannot be reached or the schema set up.
   */
  async init(): Promise<void> {
    await this.#run('set up the schema', async () => {})
  }

  async append(event: NewEvent): Promise<StoredEvent> {
    const createdAt = this.#now()
    const { rows } = await this.#run('append', () =>
      this.#pool.query<{ position: string }>(
        `WITH head AS (
           UPDATE ${this.#quotedSchema}.log_state SET value = value + 1 WHERE key = 'head'
           RETURNING value
         ), inserted AS (
           INSERT INTO ${this.#quotedSchema}.events (position, event_type, json, created_at)
           SELECT value, $1, $2, $3 FROM head
           RETURNING position
         )
         SELECT position, pg_notify($4, position::text || ' ' || $5::text) FROM inserted`,
        [event.eventType, event.json, createdAt, this.#channel, this.#origin],
      ),
    )
    const stored: StoredEvent = {
      position: Number(rows[0]!.position),
      eventType: event.eventType,
      json: event.json,
      createdAt,
    }
    this.#listeners.notify({ head: stored.position, event: stored })
    return stored
  }

  async readAfter(position: number, limit: number): Promise<StoredEvent[]> {
    const { rows } = await this.#run('read events', () =>
      this.#pool.query<EventRow>(
        `SELECT position, event_type, json, created_at FROM ${this.#quotedSchema}.events
         WHERE position > $1 ORDER BY position LIMIT $2`,
        [position, limit],
      ),
    )
    return rows.map(toStoredEvent)
  }

  async bounds(): Promise<LogBounds> {
    const { rows } = await this.#run('read the log bounds', () =>
      this.#pool.query<{ head: string; trimmed_through: string }>(
        `SELECT max(value) FILTER (WHERE key = 'head') AS head,
           max(value) FILTER (WHERE key = 'trimmed_through') AS trimmed_through
         FROM ${this.#quotedSchema}.log_state`,
      ),
    )
    return { trimmedThrough: Number(rows[0]!.trimmed_through), head: Number(rows[0]!.head) }
  }

  /**
   * Removes events outside the policy in one transaction. The lock on the `trimmed_through` row
   * serializes trims from several hubs without holding up appends, which lock `head`.
   */
  async trim(policy: RetentionPolicy): Promise<number> {
    const schema = this.#quotedSchema
    return this.#run('trim the log', () =>
      this.#transaction(async (client) => {
        const locked = await client.query<{ value: string }>(
          `SELECT value FROM ${schema}.log_state WHERE key = 'trimmed_through' FOR UPDATE`,
        )
        const trimmedThrough = Number(locked.rows[0]!.value)
        // Events appended after `head` was read are left alone, even when they are old.
        const state = await client.query<{ head: string; first_young: string | null }>(
          `SELECT h.value AS head,
             (SELECT position FROM ${schema}.events
              WHERE created_at >= $1 AND position <= h.value
              ORDER BY position LIMIT 1) AS first_young
           FROM ${schema}.log_state h WHERE h.key = 'head'`,
          [toBigintBound(policy.appendedBefore)],
        )
        const head = Number(state.rows[0]!.head)
        const firstYoung = state.rows[0]!.first_young
        const throughAge = firstYoung === null ? head : Number(firstYoung) - 1
        const cut = Math.max(head - policy.maxEvents, throughAge)
        if (cut <= trimmedThrough) return 0

        const deleted = await client.query<{ removed: string }>(
          `WITH deleted AS (
             DELETE FROM ${schema}.events WHERE position <= $1 RETURNING 1
           ), moved AS (
             UPDATE ${schema}.log_state SET value = greatest(value, $1)
             WHERE key = 'trimmed_through'
           )
           SELECT count(*) AS removed FROM deleted`,
          [cut],
        )
        return Number(deleted.rows[0]!.removed)
      }),
    )
  }

  watch(listener: (notice: AppendNotice) => void): () => void {
    return this.#listeners.add(listener)
  }

  async createSubscription(record: SubscriptionRecord): Promise<void> {
    await this.#run('create a subscription', () =>
      this.#pool.query(
        `INSERT INTO ${this.#quotedSchema}.subscriptions
           (id, position, start_position, connection_state, created_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          record.id,
          record.position,
          record.startPosition,
          record.connectionState,
          record.createdAt,
          record.lastSeenAt,
        ],
      ),
    )
  }

  async getSubscription(id: string): Promise<SubscriptionRecord | undefined> {
    const { rows } = await this.#run('read a subscription', () =>
      this.#pool.query<SubscriptionRow>(
        `SELECT id, position, start_position, connection_state, created_at, last_seen_at
         FROM ${this.#quotedSchema}.subscriptions WHERE id = $1`,
        [id],
      ),
    )
    return rows[0] && toSubscription(rows[0])
  }

  /** Applies the batch in one statement, so that it takes one round trip. */
  async updateSubscriptions(updates: readonly SubscriptionUpdate[]): Promise<void> {
    if (updates.length === 0) return
    const merged = mergeUpdates(updates)
    await this.#run('update subscriptions', () =>
      this.#pool.query(
        `UPDATE ${this.#quotedSchema}.subscriptions AS s
         SET position = coalesce(u.position, s.position),
           start_position = coalesce(u.start_position, s.start_position),
           connection_state = coalesce(u.connection_state, s.connection_state),
           last_seen_at = u.last_seen_at
         FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[])
           AS u (id, position, start_position, connection_state, last_seen_at)
         WHERE s.id = u.id`,
        [
          merged.map((update) => update.id),
          merged.map((update) => update.position),
          merged.map((update) => update.startPosition),
          merged.map((update) => update.connectionState),
          merged.map((update) => update.lastSeenAt),
        ],
      ),
    )
  }

  async expireSubscriptions(lastSeenBefore: number): Promise<number> {
    const { rowCount } = await this.#run('expire subscriptions', () =>
      this.#pool.query(`DELETE FROM ${this.#quotedSchema}.subscriptions WHERE last_seen_at < $1`, [
        toBigintBound(lastSeenBefore),
      ]),
    )
    return rowCount ?? 0
  }

  /** Ends the pool and the listening connection. Calling it again returns the same promise. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  async #shutdown(): Promise<void> {
    this.#closed = true
    this.#listeners.clear()
    // A set-up in progress ends its own listening connection once it finds the store closed.
    await this.#initializing?.catch(() => {})
    const ended = Promise.allSettled([this.#listener.close(), this.#pool.end()])
    await this.#sockets.waitForEnd(ended)
  }

  /**
   * Runs one operation after set-up, and turns any failure into `StoreUnavailableError`.
   *
   * NOTE: a connection lost after the server committed an append, but before its reply arrived,
   * fails the append although the event is stored. Other hubs then deliver it, and this hub finds
   * it when it next reads the head.
   */
  async #run<T>(action: string, operation: () => Promise<T>): Promise<T> {
    if (this.#closed) {
      throw new StoreUnavailableError(`Failed to ${action}: the PostgreSQL store is closed`)
    }
    try {
      this.#initializing ??= this.#initialize().catch((err: unknown) => {
        this.#initializing = undefined
        throw err
      })
      await this.#initializing
      const result = await operation()
      this.#outageLog.markReachable()
      return result
    } catch (err) {
      throw this.#toStoreError(action, err)
    }
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect()
    try {
      await client.query('BEGIN')
      const result = await work(client)
      await client.query('COMMIT')
      client.release()
      return result
    } catch (err) {
      // The connection may be broken or still inside the transaction, so it is discarded, which
      // also rolls the transaction back.
      client.release(err instanceof Error ? err : true)
      throw err
    }
  }

  #toStoreError(action: string, err: unknown): Error {
    if (err instanceof StoreUnavailableError) return err
    if (
      err instanceof pg.DatabaseError &&
      err.code === QUERY_CANCELED_SQLSTATE &&
      err.message.includes('statement timeout')
    ) {
      return new StoreUnavailableError(
        `Failed to ${action}: the statement timed out after ${this.#queryTimeoutMs} ms in PostgreSQL`,
        { cause: err },
      )
    }
    if (err instanceof Error && err.message === 'Query read timeout') {
      this.#outageLog.markUnreachable(err)
      return new StoreUnavailableError(
        `Failed to ${action}: PostgreSQL at ${quoteForMessage(this.#server)} timed out after ${this.#queryTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS} ms without a response; check the network to the server`,
        { cause: err },
      )
    }
    if (isConnectionError(err)) {
      this.#outageLog.markUnreachable(err)
      return new StoreUnavailableError(
        `Failed to ${action}: PostgreSQL at ${quoteForMessage(this.#server)} is unreachable; check that the server is running and that the store URL is correct`,
        { cause: err },
      )
    }
    return new StoreUnavailableError(
      `Failed to ${action} in PostgreSQL schema ${quoteForMessage(this.#schema)}`,
      { cause: err },
    )
  }

  /** Creates or upgrades the schema, then opens the listening connection. */
  async #initialize(): Promise<void> {
    await this.#transaction((client) => migrateSchema(client, this.#schema))
    await this.#listener.start()
  }
}
