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
import { Socket } from 'node:net'
import pg from 'pg'
import { InvalidOptionError, StoreUnavailableError, quoteForMessage } from '../errors.js'
import { AppendListeners } from './append-listeners.js'
import type {
  AppendNotice,
  ConnectionState,
  EventStore,
  LogBounds,
  NewEvent,
  RetentionPolicy,
  StoredEvent,
  StoreLogger,
  SubscriptionRecord,
  SubscriptionUpdate,
} from './event-store.js'

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

const SCHEMA_VERSION = 1

const DEFAULT_SCHEMA = 'tidings'
const DEFAULT_POOL_SIZE = 10
const DEFAULT_CONNECT_TIMEOUT_MS = 3_000
const DEFAULT_QUERY_TIMEOUT_MS = 10_000
const DEFAULT_APPLICATION_NAME = 'tidings'

/**
 * A schema name the store can use unquoted in notices and messages. The limit keeps the channel
 * name `tidings:<schema>` within PostgreSQL's 63-byte identifiers.
 */
const SCHEMA_PATTERN = /^(?!pg_)[a-z_][a-z0-9_]{0,54}$/
const APPLICATION_NAME_PATTERN = /^[\x20-\x7e]{1,54}$/

/** Extra time the client waits beyond `statement_timeout`, so that the server's cancel wins. */
const CLIENT_TIMEOUT_MARGIN_MS = 1_000
/** Ends a transaction left idle by a stuck process, which would keep other hubs from trimming. */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000
const KEEP_ALIVE_INITIAL_DELAY_MS = 10_000
const IDLE_CONNECTION_TIMEOUT_MS = 30_000

const LISTENER_MIN_DELAY_MS = 250
const LISTENER_MAX_DELAY_MS = 10_000
/** A listening connection that lasted this long resets the reconnect delay to its minimum. */
const LISTENER_STABLE_MS = 30_000
/** Minimum interval between two warnings with the same message. */
const WARN_INTERVAL_MS = 30_000
/**
 * Time `close()` waits for connections to end cleanly. Ending one waits for the server's reply,
 * which never comes while the network is silent, so the sockets are destroyed after this time.
 */
const CLOSE_TIMEOUT_MS = 2_000

/** Error codes of Node.js sockets and DNS that mean the server cannot be reached. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
])

/** SQLSTATE codes of a server that shut down or refused to start a session. */
const SHUTDOWN_SQLSTATES = new Set(['57P01', '57P02', '57P03'])

/** SQLSTATE of a cancelled statement, such as one that ran past `statement_timeout`. */
const QUERY_CANCELED_SQLSTATE = '57014'

const SILENT_LOGGER: StoreLogger = { info() {}, warn() {}, error() {} }

interface EventRow {
  position: string
  event_type: string
  json: string
  created_at: string
}

interface SubscriptionRow {
  id: string
  position: string
  start_position: string
  connection_state: ConnectionState
  created_at: string
  last_seen_at: string
}

/** A subscription update after merging the updates of one id, with `null` for fields left out. */
interface MergedUpdate {
  id: string
  position: number | null
  startPosition: number | null
  connectionState: ConnectionState | null
  lastSeenAt: number
}

function toStoredEvent(row: EventRow): StoredEvent {
  return {
    position: Number(row.position),
    eventType: row.event_type,
    json: row.json,
    createdAt: Number(row.created_at),
  }
}

function toSubscription(row: SubscriptionRow): SubscriptionRecord {
  return {
    id: row.id,
    position: Number(row.position),
    startPosition: Number(row.start_position),
    connectionState: row.connection_state,
    createdAt: Number(row.created_at),
    lastSeenAt: Number(row.last_seen_at),
  }
}

/** Converts a time limit to an integer that a `bigint` parameter accepts, even for ±Infinity. */
function toBigintBound(ms: number): number {
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(Number.MIN_SAFE_INTEGER, Math.ceil(ms)))
}

/**
 * Merges the updates of each id in order, so that the last value given for a field wins, as if
 * they were applied one after another. Sorted by id, so that concurrent batches from several hubs
 * usually lock rows in the same order; PostgreSQL fails one batch of a remaining deadlock.
 */
function mergeUpdates(updates: readonly SubscriptionUpdate[]): MergedUpdate[] {
  const merged = new Map<string, MergedUpdate>()
  for (const update of updates) {
    const previous = merged.get(update.id)
    merged.set(update.id, {
      id: update.id,
      position: update.position ?? previous?.position ?? null,
      startPosition: update.startPosition ?? previous?.startPosition ?? null,
      connectionState: update.connectionState ?? previous?.connectionState ?? null,
      lastSeenAt: update.lastSeenAt,
    })
  }
  // Ids are unique after merging, so no two compare equal.
  return [...merged.values()].sort((a, b) => (a.id < b.id ? -1 : 1))
}

/** pg's own errors, which have no code, for a connection that failed or was lost. */
const DRIVER_CONNECTION_MESSAGE =
  /timeout exceeded when trying to connect|Connection terminated|not queryable|Query read timeout/

/** Returns true when an error means that the server is unreachable or the connection was lost. */
function isConnectionError(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) {
    // SQLSTATE class 08 is "connection exception".
    return err.code?.startsWith('08') === true || SHUTDOWN_SQLSTATES.has(err.code ?? '')
  }
  if (!(err instanceof Error)) return false
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true
  return DRIVER_CONNECTION_MESSAGE.test(err.message)
}

/** Returns `host:port/database` of a connection URL, without user or password, for messages. */
function describeServer(url: URL): string {
  return `${decodeURIComponent(url.hostname)}:${url.port || '5432'}${url.pathname}`
}

function checkUrl(value: unknown): URL {
  let url: URL | undefined
  try {
    if (typeof value === 'string') url = new URL(value)
  } catch {
    url = undefined
  }
  if (!url || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')) {
    const redacted = typeof value === 'string' ? value.replace(/:[^:/@]*@/, ':***@') : value
    throw new InvalidOptionError(
      `Invalid PostgreSQL URL ${quoteForMessage(redacted)}; expected postgres://user@host:port/database`,
    )
  }
  return url
}

function checkSchema(value: unknown): string {
  if (typeof value !== 'string' || !SCHEMA_PATTERN.test(value)) {
    throw new InvalidOptionError(
      `Invalid PostgreSQL schema name ${quoteForMessage(value)}; expected lowercase letters, digits and _, at most 55 characters, not starting with a digit or pg_`,
    )
  }
  return value
}

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
 * Splits a store URL with an optional `schema` query parameter into `PostgresStore` options. The
 * parameter is removed from the URL handed to the driver.
 * @param storeUrl A URL such as `postgres://tidings@db.internal:5432/app?schema=hub1`.
 * @returns The options `url` and, when the URL has the parameter, `schema`.
 * @throws {InvalidOptionError} for a URL that is not `postgres://` or `postgresql://`, a repeated
 *   `schema` parameter, or an invalid schema name.
 * @example
 * const store = await PostgresStore.open(parsePostgresStoreUrl('postgres://db/app?schema=hub1'))
 */
export function parsePostgresStoreUrl(
  storeUrl: string,
): Pick<PostgresStoreOptions, 'url' | 'schema'> {
  const url = checkUrl(storeUrl)
  const schemas = url.searchParams.getAll('schema')
  if (schemas.length === 0) return { url: storeUrl }
  if (schemas.length > 1) {
    throw new InvalidOptionError(
      `PostgreSQL URL has ${schemas.length} schema parameters; give schema once`,
    )
  }
  const schema = checkSchema(schemas[0])
  url.searchParams.delete('schema')
  return { url: url.href, schema }
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
  readonly #listenerConfig: pg.ClientConfig
  readonly #schema: string
  readonly #quotedSchema: string
  readonly #channel: string
  readonly #server: string
  readonly #queryTimeoutMs: number
  readonly #now: () => number
  readonly #logger: StoreLogger
  readonly #listeners = new AppendListeners()
  /** Marks this store's notifications, so that its listener skips the appends it announced. */
  readonly #origin = randomUUID()
  /** Open sockets of the pool and the listener, destroyed when `close()` times out. */
  readonly #sockets = new Set<Socket>()
  #initializing: Promise<void> | undefined
  #closing: Promise<void> | undefined
  #closed = false
  /** Time the pool was first found unreachable, or `undefined` while it is reachable. */
  #unreachableSince: number | undefined
  readonly #lastWarnings = new Map<string, { at: number; suppressed: number }>()
  #listener: pg.Client | undefined
  #listenerConnectedAt = 0
  #listenerDelayMs = LISTENER_MIN_DELAY_MS
  #listenerFailures = 0
  #reconnectTimer: NodeJS.Timeout | undefined

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
    this.#logger = options.logger ?? SILENT_LOGGER

    const clientConfig: pg.ClientConfig = {
      connectionString: options.url,
      connectionTimeoutMillis: connectTimeoutMs,
      statement_timeout: this.#queryTimeoutMs,
      query_timeout: this.#queryTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEP_ALIVE_INITIAL_DELAY_MS,
      stream: () => this.#createSocket(),
    }
    this.#listenerConfig = { ...clientConfig, application_name: `${applicationName} listener` }
    this.#pool = new pg.Pool({
      ...clientConfig,
      application_name: applicationName,
      max: poolSize,
      idleTimeoutMillis: IDLE_CONNECTION_TIMEOUT_MS,
    })
    // An idle connection that fails (a server restart, an administrator's terminate) leaves the
    // pool on its own. Without this listener, the error would crash the process.
    this.#pool.on('error', (err) => this.#markUnreachable(err))
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
    clearTimeout(this.#reconnectTimer)
    // A set-up in progress ends its own listening connection once it finds the store closed.
    await this.#initializing?.catch(() => {})
    const listener = this.#listener
    this.#listener = undefined
    const ended = Promise.allSettled([listener?.end(), this.#pool.end()])
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), CLOSE_TIMEOUT_MS)
    })
    const late = await Promise.race([ended.then(() => false), timedOut])
    clearTimeout(timer)
    if (!late) return

    for (const socket of this.#sockets) socket.destroy()
    await ended
  }

  /** Creates the socket of a connection, and tracks it until it closes. */
  #createSocket(): Socket {
    const socket = new Socket()
    this.#sockets.add(socket)
    socket.once('close', () => this.#sockets.delete(socket))
    return socket
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
      this.#markReachable()
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
      this.#markUnreachable(err)
      return new StoreUnavailableError(
        `Failed to ${action}: PostgreSQL at ${quoteForMessage(this.#server)} timed out after ${this.#queryTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS} ms without a response; check the network to the server`,
        { cause: err },
      )
    }
    if (isConnectionError(err)) {
      this.#markUnreachable(err)
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
    await this.#transaction(async (client) => {
      // Hubs that start at once would otherwise race to create the same schema and tables.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `tidings schema ${this.#schema}`,
      ])
      await this.#migrate(client)
    })
    const listener = await this.#connectListener()
    if (this.#closed) {
      void listener.end().catch(() => {})
      return
    }
    this.#adoptListener(listener)
  }

  async #migrate(client: pg.PoolClient): Promise<void> {
    const schema = this.#quotedSchema
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.log_state (key text PRIMARY KEY, value bigint NOT NULL)`,
    )
    const found = await client.query<{ value: string }>(
      `SELECT value FROM ${schema}.log_state WHERE key = 'schema_version'`,
    )
    const version = found.rows[0] ? Number(found.rows[0].value) : 0
    if (version > SCHEMA_VERSION) {
      throw new StoreUnavailableError(
        `PostgreSQL schema ${quoteForMessage(this.#schema)} has version ${version}, newer than version ${SCHEMA_VERSION} of this Tidings; upgrade Tidings`,
      )
    }
    // Later versions add their steps here, each guarded by `version < N`.
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${schema}.events (
        position bigint PRIMARY KEY,
        event_type text NOT NULL,
        json text NOT NULL,
        created_at bigint NOT NULL
      );
      CREATE TABLE IF NOT EXISTS ${schema}.subscriptions (
        id text PRIMARY KEY,
        position bigint NOT NULL,
        start_position bigint NOT NULL,
        connection_state text NOT NULL,
        created_at bigint NOT NULL,
        last_seen_at bigint NOT NULL
      );
      CREATE INDEX IF NOT EXISTS subscriptions_last_seen_at
        ON ${schema}.subscriptions (last_seen_at);
      INSERT INTO ${schema}.log_state (key, value)
        VALUES ('head', 0), ('trimmed_through', 0), ('schema_version', ${SCHEMA_VERSION})
        ON CONFLICT (key) DO NOTHING;
      UPDATE ${schema}.log_state SET value = ${SCHEMA_VERSION} WHERE key = 'schema_version';
    `)
  }

  /** Opens a connection that listens on the channel, and returns it. */
  async #connectListener(): Promise<pg.Client> {
    const client = new pg.Client(this.#listenerConfig)
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
    this.#listener = client
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
    if (client !== this.#listener) return
    this.#listener = undefined
    void client.end().catch(() => {})
    if (this.#closed) return
    if (performance.now() - this.#listenerConnectedAt >= LISTENER_STABLE_MS) {
      this.#listenerDelayMs = LISTENER_MIN_DELAY_MS
    }
    this.#warnLimited({ err }, 'store listener connection lost')
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
      if (this.#closed) return
      this.#listenerFailures++
      this.#warnLimited(
        { err, attempts: this.#listenerFailures },
        'store listener reconnect failed',
      )
      this.#scheduleListenerReconnect()
      return
    }
    if (this.#closed) {
      void client.end().catch(() => {})
      return
    }
    this.#adoptListener(client)
    this.#logger.info(
      { ...this.#logFields(), attempts: this.#listenerFailures + 1, head },
      'store listener reconnected',
    )
    this.#listenerFailures = 0
    this.#listeners.notify({ head })
  }

  #markUnreachable(err: unknown): void {
    if (this.#closed || this.#unreachableSince !== undefined) return
    this.#unreachableSince = performance.now()
    this.#warnLimited({ err }, 'store unreachable')
  }

  #markReachable(): void {
    if (this.#unreachableSince === undefined) return
    const downMs = Math.round(performance.now() - this.#unreachableSince)
    this.#unreachableSince = undefined
    this.#logger.info({ ...this.#logFields(), downMs }, 'store reachable again')
  }

  /** Logs a warning, at most once per 30 s for each message, with the count of those skipped. */
  #warnLimited(fields: object, message: string): void {
    const now = performance.now()
    const last = this.#lastWarnings.get(message)
    if (last && now - last.at < WARN_INTERVAL_MS) {
      last.suppressed++
      return
    }
    const suppressed = last?.suppressed ?? 0
    this.#lastWarnings.set(message, { at: now, suppressed: 0 })
    this.#logger.warn(
      { ...this.#logFields(), ...fields, ...(suppressed > 0 ? { suppressed } : {}) },
      message,
    )
  }

  #logFields(): object {
    return { store: this.kind, server: this.#server, schema: this.#schema }
  }
}
