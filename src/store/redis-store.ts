/**
 * An event store in Redis, so that several hub processes share one log and one set of
 * subscriptions.
 *
 * Key layout, every key and the channel under one prefix (default `tidings`):
 *
 * - `<prefix>:head` (string): newest position appended, missing while the log is empty.
 * - `<prefix>:log` (stream): one entry per retained event with the id `<position>-0` and the fields
 *   `eventType`, `json` and `createdAt` (milliseconds since the epoch).
 * - `<prefix>:trimmed-through` (string): newest position removed by retention, missing before the
 *   first trim. Scripts only ever raise it.
 * - `<prefix>:sub:<id>` (hash): one subscription, with the fields `position`, `startPosition`,
 *   `connectionState`, `createdAt` and `lastSeenAt`.
 * - `<prefix>:subs-by-seen` (sorted set): subscription ids scored by `lastSeenAt`, for expiry.
 * - `<prefix>:appended` (pub/sub channel): one message `<position> <origin>` per append, where the
 *   origin is the random id of the store instance that appended.
 *
 * Appends, trims and subscription changes run as Lua scripts, so each is atomic, and positions
 * are contiguous across every hub that uses the same prefix.
 *
 * The store uses two connections: one for commands and, from the first `watch`, one subscribed to
 * the channel. While Redis is unreachable, commands fail at once with `StoreUnavailableError`
 * instead of waiting in a queue, and both connections retry in the background with backoff.
 *
 * NOTE: written for one Redis server or a replicated primary, not Redis Cluster, because the
 * scripts touch keys that Cluster would spread across hash slots. Needs Redis 6.2 or later for
 * exclusive `XRANGE` bounds and `XTRIM MINID`.
 * @module
 */
import { randomUUID } from 'node:crypto'
import { setImmediate as nextIteration } from 'node:timers/promises'
import { Redis, type RedisOptions } from 'ioredis'
import { InvalidOptionError, StoreUnavailableError, quoteForMessage } from '../errors.js'
import { AppendListeners } from './append-listeners.js'
import type {
  AppendNotice,
  EventStore,
  LogBounds,
  NewEvent,
  RetentionPolicy,
  StoreLogger,
  StoredEvent,
  SubscriptionRecord,
  SubscriptionUpdate,
} from './event-store.js'
import { redactStoreUrl } from './open-store.js'
import { ConnectionLog, createClientOptions, quit, waitForReady } from './redis-connection.js'
import { toStoredEvent, toSubscription } from './redis-records.js'
import { defineStoreScripts, type StoreScripts } from './redis-scripts.js'
import { checkPrefix, parseRedisUrl } from './redis-store-url.js'

export { redisStoreOptionsFromUrl } from './redis-store-url.js'

/** Options of `RedisStore`. */
export interface RedisStoreOptions {
  /**
   * Server URL: `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. Query
   * parameters are rejected, so pass a store URL with `?prefix=` through
   * `redisStoreOptionsFromUrl`.
   */
  readonly url: string
  /**
   * Prefix of every key and of the channel. Hubs that share a log use the same prefix. Default
   * `tidings`.
   */
  readonly prefix?: string
  /** Clock in milliseconds since the epoch; tests replace it. Default `Date.now`. */
  readonly now?: () => number
  /** Receives connection losses (`warn`) and recoveries (`info`). Default silent. */
  readonly logger?: StoreLogger
  /**
   * Connection name shown by `CLIENT LIST`: the command connection uses it as is, the notice
   * connection with `:watch` appended. Default `tidings`.
   */
  readonly clientName?: string
  /**
   * Maximum wait between reconnection attempts, in milliseconds. The wait doubles from 100 ms up
   * to this value. Attempts never stop, so a hub recovers whenever Redis returns. Default 5,000.
   */
  readonly maxReconnectDelayMs?: number
  /**
   * Time a connection attempt may take before it fails, in milliseconds. Commands issued during an
   * attempt wait for its outcome, so this also bounds how long they can wait. Default 2,000.
   */
  readonly connectTimeoutMs?: number
  /** Time a command may wait for its reply before it fails, in milliseconds. Default 5,000. */
  readonly commandTimeoutMs?: number
}

const DEFAULT_PREFIX = 'tidings'
const DEFAULT_CLIENT_NAME = 'tidings'
const DEFAULT_MAX_RECONNECT_DELAY_MS = 5_000
const DEFAULT_CONNECT_TIMEOUT_MS = 2_000
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000

/** Stream entries a trim script reads per `XRANGE`, and at most per call. */
const TRIM_BATCH_SIZE = 500
const TRIM_SCAN_LIMIT = 10_000

/** Subscriptions an expiry script removes per call, and updates an update script applies. */
const EXPIRE_BATCH_SIZE = 500
const UPDATE_BATCH_SIZE = 1_000

const SILENT_LOGGER: StoreLogger = { info() {}, warn() {}, error() {} }

function checkPositiveNumber(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionError(
      `Invalid ${name} ${quoteForMessage(value)}; expected a positive number of milliseconds`,
    )
  }
}

/**
 * Keeps the log in a Redis Stream and subscriptions in hashes, through `ioredis`. Hub processes
 * that use the same server and prefix share one log.
 *
 * Append notices of this process carry the event. Appends of other processes arrive over pub/sub
 * as head-only notices. Such a notice announces every append up to its head, so the store skips
 * one whose head was already announced. Messages published while the notice connection is down
 * are lost, so after it reconnects the store reads the head and announces it.
 *
 * NOTE: when a command fails because the connection dropped or the reply timed out, Redis may
 * still have run it, so a failed `append` can have stored its event. Hubs deliver that event like
 * any other, even though its caller received an error.
 *
 * @example
 * const store = new RedisStore({ url: 'redis://127.0.0.1:6379', prefix: 'hub1', logger })
 */
export class RedisStore implements EventStore {
  readonly kind = 'redis'
  readonly shared = true
  readonly #now: () => number
  readonly #logger: StoreLogger
  readonly #listeners = new AppendListeners()
  readonly #keys
  /** Random id of this instance, which lets it skip its own messages on the channel. */
  readonly #origin = randomUUID()
  /** Host and port for messages and logs, because the URL may contain a password. */
  readonly #address: string
  readonly #url: string
  readonly #clientOptions: RedisOptions
  readonly #clientName: string
  readonly #connectTimeoutMs: number
  readonly #commands: Redis & StoreScripts
  readonly #commandLog: ConnectionLog
  /** Outcome of the connection attempt under way, shared by the commands that wait for it. */
  #connecting: Promise<void> | undefined
  #subscriber: Redis | undefined
  #subscribedBefore = false
  /** Newest head given to listeners. */
  #notifiedHead = 0
  #closing: Promise<void> | undefined

  /**
   * Checks the options and starts connecting. The first commands wait for the connection.
   * @throws {InvalidOptionError} for an invalid URL, an empty prefix or client name, or a
   *   duration that is not a positive number.
   */
  constructor(options: RedisStoreOptions) {
    const parsed = parseRedisUrl(options.url)
    if (parsed.search !== '') {
      throw new InvalidOptionError(
        `Invalid Redis URL ${quoteForMessage(redactStoreUrl(options.url))}; remove the query parameters and set the prefix option instead, or call redisStoreOptionsFromUrl`,
      )
    }
    const prefix = options.prefix ?? DEFAULT_PREFIX
    checkPrefix(prefix)
    const clientName = options.clientName ?? DEFAULT_CLIENT_NAME
    if (!/^[!-~]+$/.test(clientName)) {
      throw new InvalidOptionError(
        `Invalid Redis client name ${quoteForMessage(clientName)}; expected printable ASCII without spaces`,
      )
    }
    const maxReconnectDelayMs = options.maxReconnectDelayMs ?? DEFAULT_MAX_RECONNECT_DELAY_MS
    const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
    const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS
    checkPositiveNumber('maxReconnectDelayMs', maxReconnectDelayMs)
    checkPositiveNumber('connectTimeoutMs', connectTimeoutMs)
    checkPositiveNumber('commandTimeoutMs', commandTimeoutMs)

    this.#now = options.now ?? Date.now
    this.#logger = options.logger ?? SILENT_LOGGER
    this.#address = parsed.host
    this.#url = options.url
    this.#clientName = clientName
    this.#connectTimeoutMs = connectTimeoutMs
    this.#keys = {
      head: `${prefix}:head`,
      log: `${prefix}:log`,
      trimmedThrough: `${prefix}:trimmed-through`,
      subscriptionPrefix: `${prefix}:sub:`,
      subscriptionsBySeen: `${prefix}:subs-by-seen`,
      appended: `${prefix}:appended`,
    }
    this.#clientOptions = createClientOptions({
      maxReconnectDelayMs,
      connectTimeoutMs,
      commandTimeoutMs,
    })

    const commands = new Redis(this.#url, { ...this.#clientOptions, connectionName: clientName })
    this.#commands = defineStoreScripts(commands)
    this.#commandLog = this.#logConnection(commands, 'commands')
  }

  async append(event: NewEvent): Promise<StoredEvent> {
    const createdAt = this.#now()
    const position = await this.#run('append an event', (redis) =>
      redis.tidingsAppend(
        this.#keys.head,
        this.#keys.log,
        event.eventType,
        event.json,
        String(createdAt),
        this.#keys.appended,
        this.#origin,
      ),
    )
    const stored: StoredEvent = {
      position: Number(position),
      eventType: event.eventType,
      json: event.json,
      createdAt,
    }
    this.#notifiedHead = Math.max(this.#notifiedHead, stored.position)
    this.#listeners.notify({ head: stored.position, event: stored })
    return stored
  }

  async readAfter(position: number, limit: number): Promise<StoredEvent[]> {
    const count = Math.min(Math.floor(limit), Number.MAX_SAFE_INTEGER)
    if (!(count >= 1)) return []
    const after = Math.max(0, Math.floor(position))
    const entries = await this.#run('read the log', (redis) =>
      redis.xrange(this.#keys.log, `(${after}-0`, '+', 'COUNT', count),
    )
    return entries.map(([id, fields]) => toStoredEvent(id, fields))
  }

  async bounds(): Promise<LogBounds> {
    const [head, trimmedThrough] = await this.#run('read the log bounds', (redis) =>
      redis.mget(this.#keys.head, this.#keys.trimmedThrough),
    )
    return { trimmedThrough: Number(trimmedThrough ?? 0), head: Number(head ?? 0) }
  }

  async trim(policy: RetentionPolicy): Promise<number> {
    let removed = 0
    for (;;) {
      const [count, more] = await this.#run('trim the log', (redis) =>
        redis.tidingsTrim(
          this.#keys.head,
          this.#keys.log,
          this.#keys.trimmedThrough,
          String(policy.appendedBefore),
          String(policy.maxEvents),
          String(TRIM_BATCH_SIZE),
          String(TRIM_SCAN_LIMIT),
        ),
      )
      removed += Number(count)
      if (Number(more) !== 1) return removed
    }
  }

  watch(listener: (notice: AppendNotice) => void): () => void {
    const remove = this.#listeners.add(listener)
    if (!this.#subscriber && !this.#closing) this.#subscriber = this.#subscribe()
    return remove
  }

  async createSubscription(record: SubscriptionRecord): Promise<void> {
    const results = await this.#run('create a subscription', (redis) =>
      redis
        .multi()
        .hset(this.#subscriptionKey(record.id), {
          position: String(record.position),
          startPosition: String(record.startPosition),
          connectionState: record.connectionState,
          createdAt: String(record.createdAt),
          lastSeenAt: String(record.lastSeenAt),
        })
        .zadd(this.#keys.subscriptionsBySeen, String(record.lastSeenAt), record.id)
        .exec(),
    )
    const failure = results?.find(([err]) => err)?.[0]
    if (!results || failure) {
      throw new StoreUnavailableError(`Redis at ${this.#address} failed to create a subscription`, {
        cause: failure ?? new Error('transaction discarded'),
      })
    }
  }

  async getSubscription(id: string): Promise<SubscriptionRecord | undefined> {
    const fields = await this.#run('read a subscription', (redis) =>
      redis.hgetall(this.#subscriptionKey(id)),
    )
    if (Object.keys(fields).length === 0) return undefined
    return toSubscription(id, fields)
  }

  async updateSubscriptions(updates: readonly SubscriptionUpdate[]): Promise<void> {
    // Each batch is atomic, which bounds how long one script blocks Redis. A failure between
    // batches leaves the earlier ones applied, and every record still consistent on its own.
    for (let start = 0; start < updates.length; start += UPDATE_BATCH_SIZE) {
      const batch = updates.slice(start, start + UPDATE_BATCH_SIZE)
      const keys = [this.#keys.subscriptionsBySeen]
      const values: string[] = []
      for (const update of batch) {
        keys.push(this.#subscriptionKey(update.id))
        values.push(
          update.id,
          update.position === undefined ? '' : String(update.position),
          update.startPosition === undefined ? '' : String(update.startPosition),
          update.connectionState ?? '',
          String(update.lastSeenAt),
        )
      }
      await this.#run('update subscriptions', (redis) =>
        redis.tidingsUpdateSubscriptions(keys.length, ...keys, ...values),
      )
    }
  }

  async expireSubscriptions(lastSeenBefore: number): Promise<number> {
    let removed = 0
    for (;;) {
      const count = await this.#run('expire subscriptions', (redis) =>
        redis.tidingsExpireSubscriptions(
          this.#keys.subscriptionsBySeen,
          String(lastSeenBefore),
          this.#keys.subscriptionPrefix,
          String(EXPIRE_BATCH_SIZE),
        ),
      )
      removed += Number(count)
      if (Number(count) < EXPIRE_BATCH_SIZE) return removed
    }
  }

  /** Closes both connections. Calling it again returns the same promise. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  async #shutdown(): Promise<void> {
    this.#listeners.clear()
    const clients = this.#subscriber ? [this.#commands, this.#subscriber] : [this.#commands]
    await Promise.all(clients.map(quit))
  }

  #subscriptionKey(id: string): string {
    return `${this.#keys.subscriptionPrefix}${id}`
  }

  /** Runs a command once the connection is ready, and wraps any failure. */
  async #run<T>(action: string, command: (redis: Redis & StoreScripts) => Promise<T>): Promise<T> {
    try {
      await this.#whenReady()
    } catch (err) {
      if (this.#closing) {
        throw new StoreUnavailableError(`Failed to ${action} because the Redis store is closed`, {
          cause: err,
        })
      }
      throw new StoreUnavailableError(
        `Failed to ${action} because Redis at ${this.#address} is unreachable; check that the server is running`,
        { cause: this.#commandLog.lastError ?? err },
      )
    }
    try {
      return await command(this.#commands)
    } catch (err) {
      throw new StoreUnavailableError(`Redis at ${this.#address} failed to ${action}`, {
        cause: err,
      })
    }
  }

  /**
   * Resolves once the command connection is ready. While a connection attempt is under way the
   * call waits for its outcome. Otherwise, as between reconnection attempts, it rejects at once.
   */
  #whenReady(): Promise<void> {
    const client = this.#commands
    if (client.status === 'ready') return Promise.resolve()
    if (client.status !== 'connecting' && client.status !== 'connect') {
      return Promise.reject(new Error(`Redis connection is ${client.status}`))
    }
    this.#connecting ??= waitForReady(client, this.#connectTimeoutMs + 500).finally(() => {
      this.#connecting = undefined
    })
    return this.#connecting
  }

  #logConnection(client: Redis, connection: 'commands' | 'watch'): ConnectionLog {
    const fields = { store: this.kind, connection, address: this.#address }
    return new ConnectionLog(client, fields, this.#logger, () => this.#closing !== undefined)
  }

  /** Opens the notice connection, which subscribes again after every reconnection. */
  #subscribe(): Redis {
    const subscriber = new Redis(this.#url, {
      ...this.#clientOptions,
      connectionName: `${this.#clientName}:watch`,
      autoResubscribe: false,
    })
    this.#logConnection(subscriber, 'watch')
    subscriber.on('message', (_channel: string, message: string) => this.#onMessage(message))
    subscriber.on('ready', () => void this.#onSubscriberReady(subscriber))
    return subscriber
  }

  #onMessage(message: string): void {
    const [positionText, origin] = message.split(' ')
    if (origin === this.#origin) return
    const head = Number(positionText)
    if (Number.isSafeInteger(head)) this.#notifyHead(head, false)
  }

  async #onSubscriberReady(subscriber: Redis): Promise<void> {
    try {
      await subscriber.subscribe(this.#keys.appended)
    } catch (err) {
      // After a dropped connection the next `ready` event subscribes again. A refusal, such as an
      // ACL without SUBSCRIBE, leaves the hub to find appends by polling the head.
      if (!this.#closing) {
        this.#logger.warn({ store: this.kind, connection: 'watch', err }, 'redis subscribe failed')
      }
      return
    }
    const reconnected = this.#subscribedBefore
    this.#subscribedBefore = true
    let head: number
    try {
      head = (await this.bounds()).head
    } catch (err) {
      if (!this.#closing) {
        const fields = { store: this.kind, connection: 'commands', err }
        this.#logger.warn(fields, 'redis head read after subscribing failed')
      }
      return
    }
    // Lets the notices of this process's appends that completed before the read reach the
    // listeners first, so that they are not announced twice.
    await nextIteration()
    if (!this.#closing) this.#notifyHead(head, reconnected)
  }

  /**
   * Announces a head without its event. After a reconnection the head is announced even when it
   * is not new, as a sign that messages may have been lost.
   */
  #notifyHead(head: number, always: boolean): void {
    if (!always && head <= this.#notifiedHead) return
    this.#notifiedHead = Math.max(this.#notifiedHead, head)
    this.#listeners.notify({ head })
  }
}
