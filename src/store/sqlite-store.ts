/**
 * An event store in one SQLite file: durable across restarts of the hub, with no server to run.
 *
 * The file is opened in WAL mode with `synchronous=NORMAL`, so a crash of the hub process loses
 * nothing that was acknowledged. A power failure may lose the last few appends. The hub holds an
 * exclusive lock on the file, so one hub process uses a file and a second one fails at start.
 * @module
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { StoreUnavailableError } from '../errors.js'
import { AppendListeners } from './append-listeners.js'
import type {
  AppendNotice,
  ConnectionState,
  EventStore,
  LogBounds,
  NewEvent,
  RetentionPolicy,
  StoredEvent,
  SubscriptionRecord,
  SubscriptionUpdate,
} from './event-store.js'

/** Options of `SqliteStore`. */
export interface SqliteStoreOptions {
  /** Path of the database file, created with its folder when missing; `:memory:` for none. */
  readonly path: string
  /** Clock in milliseconds since the epoch; tests replace it. Default `Date.now`. */
  readonly now?: () => number
}

const SCHEMA_VERSION = 1

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    event_type TEXT NOT NULL,
    json TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS subscriptions (
    id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    start_position INTEGER NOT NULL,
    connection_state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS subscriptions_last_seen_at ON subscriptions (last_seen_at);
  CREATE TABLE IF NOT EXISTS log_state (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO log_state (key, value) VALUES ('trimmed_through', 0);
`

interface EventRow {
  position: number
  event_type: string
  json: string
  created_at: number
}

interface SubscriptionRow {
  id: string
  position: number
  start_position: number
  connection_state: ConnectionState
  created_at: number
  last_seen_at: number
}

function toStoredEvent(row: EventRow): StoredEvent {
  return {
    position: row.position,
    eventType: row.event_type,
    json: row.json,
    createdAt: row.created_at,
  }
}

function toSubscription(row: SubscriptionRow): SubscriptionRecord {
  return {
    id: row.id,
    position: row.position,
    startPosition: row.start_position,
    connectionState: row.connection_state,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
  }
}

/** Opens the database file, takes its lock and sets up the schema. */
function openDatabase(path: string): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const db = new Database(path, { timeout: 200 })
  try {
    db.pragma('locking_mode = EXCLUSIVE')
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    const version = db.pragma('user_version', { simple: true }) as number
    if (version > SCHEMA_VERSION) {
      throw new Error(`schema version ${version} is newer than ${SCHEMA_VERSION}; upgrade Tidings`)
    }
    db.exec(SCHEMA)
    db.pragma(`user_version = ${SCHEMA_VERSION}`)
    return db
  } catch (err) {
    db.close()
    const busy = (err as { code?: string }).code === 'SQLITE_BUSY'
    throw new StoreUnavailableError(
      busy
        ? `SQLite file ${JSON.stringify(path)} is locked by another process; run one hub per file`
        : `Failed to open SQLite file ${JSON.stringify(path)}`,
      { cause: err },
    )
  }
}

/** Keeps the log and subscriptions in one SQLite file through `better-sqlite3`. */
export class SqliteStore implements EventStore {
  readonly kind = 'sqlite'
  readonly shared: boolean = false
  readonly #db: Database.Database
  readonly #now: () => number
  readonly #listeners = new AppendListeners()
  readonly #statements

  constructor(options: SqliteStoreOptions) {
    this.#now = options.now ?? Date.now
    this.#db = openDatabase(options.path)
    const db = this.#db
    this.#statements = {
      append: db.prepare<[string, string, number], { position: number }>(
        'INSERT INTO events (event_type, json, created_at) VALUES (?, ?, ?) RETURNING position',
      ),
      readAfter: db.prepare<[number, number], EventRow>(
        'SELECT position, event_type, json, created_at FROM events WHERE position > ? ORDER BY position LIMIT ?',
      ),
      head: db.prepare<[], { seq: number }>(
        "SELECT seq FROM sqlite_sequence WHERE name = 'events'",
      ),
      trimmedThrough: db.prepare<[], { value: number }>(
        "SELECT value FROM log_state WHERE key = 'trimmed_through'",
      ),
      firstKeptByAge: db.prepare<[number], { position: number }>(
        'SELECT position FROM events WHERE created_at >= ? ORDER BY position LIMIT 1',
      ),
      deleteThrough: db.prepare<[number], void>('DELETE FROM events WHERE position <= ?'),
      setTrimmedThrough: db.prepare<[number], void>(
        "UPDATE log_state SET value = max(value, ?) WHERE key = 'trimmed_through'",
      ),
      insertSubscription: db.prepare<[string, number, number, string, number, number], void>(
        `INSERT INTO subscriptions (id, position, start_position, connection_state, created_at, last_seen_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      getSubscription: db.prepare<[string], SubscriptionRow>(
        `SELECT id, position, start_position, connection_state, created_at, last_seen_at
         FROM subscriptions WHERE id = ?`,
      ),
      updateSubscription: db.prepare<
        [number | null, number | null, string | null, number, string],
        void
      >(
        `UPDATE subscriptions SET position = coalesce(?, position),
           start_position = coalesce(?, start_position),
           connection_state = coalesce(?, connection_state), last_seen_at = ? WHERE id = ?`,
      ),
      expireSubscriptions: db.prepare<[number], void>(
        'DELETE FROM subscriptions WHERE last_seen_at < ?',
      ),
    }
  }

  /**
   * The open database, for modules that keep their own tables in the hub's file.
   * @internal
   */
  get database(): Database.Database {
    return this.#db
  }

  async append(event: NewEvent): Promise<StoredEvent> {
    const createdAt = this.#now()
    const row = this.#statements.append.get(event.eventType, event.json, createdAt)
    const stored: StoredEvent = {
      position: row!.position,
      eventType: event.eventType,
      json: event.json,
      createdAt,
    }
    this.#listeners.notify({ head: stored.position, event: stored })
    return stored
  }

  async readAfter(position: number, limit: number): Promise<StoredEvent[]> {
    return this.#statements.readAfter.all(position, limit).map(toStoredEvent)
  }

  async bounds(): Promise<LogBounds> {
    return this.#bounds()
  }

  #bounds(): LogBounds {
    return {
      trimmedThrough: this.#statements.trimmedThrough.get()?.value ?? 0,
      head: this.#statements.head.get()?.seq ?? 0,
    }
  }

  async trim(policy: RetentionPolicy): Promise<number> {
    const run = this.#db.transaction(() => {
      const { trimmedThrough, head } = this.#bounds()
      const firstYoung = this.#statements.firstKeptByAge.get(policy.appendedBefore)?.position
      const throughAge = firstYoung === undefined ? head : firstYoung - 1
      const cut = Math.max(head - policy.maxEvents, throughAge)
      if (cut <= trimmedThrough) return 0
      const { changes } = this.#statements.deleteThrough.run(cut)
      this.#statements.setTrimmedThrough.run(cut)
      return changes
    })
    return run.immediate()
  }

  watch(listener: (notice: AppendNotice) => void): () => void {
    return this.#listeners.add(listener)
  }

  async createSubscription(record: SubscriptionRecord): Promise<void> {
    this.#statements.insertSubscription.run(
      record.id,
      record.position,
      record.startPosition,
      record.connectionState,
      record.createdAt,
      record.lastSeenAt,
    )
  }

  async getSubscription(id: string): Promise<SubscriptionRecord | undefined> {
    const row = this.#statements.getSubscription.get(id)
    return row && toSubscription(row)
  }

  async updateSubscriptions(updates: readonly SubscriptionUpdate[]): Promise<void> {
    const run = this.#db.transaction(() => {
      for (const update of updates) {
        this.#statements.updateSubscription.run(
          update.position ?? null,
          update.startPosition ?? null,
          update.connectionState ?? null,
          update.lastSeenAt,
          update.id,
        )
      }
    })
    run()
  }

  async expireSubscriptions(lastSeenBefore: number): Promise<number> {
    return this.#statements.expireSubscriptions.run(lastSeenBefore).changes
  }

  async close(): Promise<void> {
    this.#listeners.clear()
    if (this.#db.open) this.#db.close()
  }
}
