/**
 * Tests of `PostgresStore`: the store contract, and what a log shared by several hub processes
 * needs. They run against the server at `TIDINGS_TEST_POSTGRES_URL` (default a local server) and
 * are skipped when it is unreachable, unless `TIDINGS_REQUIRE_SERVICES=1` makes that a failure.
 * Each store gets a schema of its own, dropped afterwards, because other tests share the server.
 * @module
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import { after, afterEach, describe, it } from 'node:test'
import pg from 'pg'
import type { AppendNotice, NewEvent, StoredEvent, StoreLogger } from '../src/store/event-store.js'
import {
  PostgresStore,
  parsePostgresStoreUrl,
  type PostgresStoreOptions,
} from '../src/store/postgres-store.js'
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js'
import { describeStoreContract } from './store-contract.js'

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test'
const serverUrl = process.env.TIDINGS_TEST_POSTGRES_URL || DEFAULT_URL
const shownUrl = serverUrl.replace(/:[^:/@]*@/, ':***@')
const PROBE_TIMEOUT_MS = 2_000
/** Pool size of the stores under test, small because other engineers' tests share the server. */
const POOL_SIZE = 4
const START_TIME = 1_700_000_000_000
const clock = { now: () => START_TIME }

/** Returns true when the server accepts a connection and a query within the probe timeout. */
async function probeServer(): Promise<boolean> {
  const client = new pg.Client({
    connectionString: serverUrl,
    connectionTimeoutMillis: PROBE_TIMEOUT_MS,
    query_timeout: PROBE_TIMEOUT_MS,
  })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

const reachable = await probeServer()
const unreachableReason = `PostgreSQL at ${shownUrl} is not reachable; set TIDINGS_TEST_POSTGRES_URL`
const skip = reachable ? undefined : unreachableReason
const admin = reachable ? new pg.Pool({ connectionString: serverUrl, max: 2 }) : undefined
admin?.on('error', () => {})

/** Schemas created by this file and not dropped yet. */
const createdSchemas = new Set<string>()

function freshSchema(): string {
  const schema = `tidings_test_${randomBytes(6).toString('hex')}`
  createdSchemas.add(schema)
  return schema
}

async function dropSchema(schema: string): Promise<void> {
  await admin!.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`)
  createdSchemas.delete(schema)
}

/** Makes `close()` also drop the store's schema, so that each contract test leaves nothing. */
function dropSchemaOnClose(store: PostgresStore, schema: string): PostgresStore {
  const close = store.close.bind(store)
  store.close = async () => {
    await close()
    await dropSchema(schema)
  }
  return store
}

after(async () => {
  if (!admin) return
  for (const schema of createdSchemas) await dropSchema(schema)
  await admin.end()
})

function newEvent(label: string): NewEvent {
  return {
    eventType: 'counter.incremented',
    json: JSON.stringify({ eventType: 'counter.incremented', label }),
  }
}

function positionsOf(events: readonly StoredEvent[]): number[] {
  return events.map((event) => event.position)
}

/** Returns `[from, from + 1, …, to]`. */
function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

/** Resolves once `condition` holds, checking every 5 ms, and rejects after `timeoutMs`. */
async function waitFor(condition: () => boolean, description: string, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

interface LogLine {
  readonly level: 'info' | 'warn' | 'error'
  readonly fields: Record<string, unknown>
  readonly message: string
}

/** Creates a logger that keeps every line, for tests that check what the store reports. */
function createRecordingLogger(): { readonly lines: LogLine[]; readonly logger: StoreLogger } {
  const lines: LogLine[] = []
  const record =
    (level: LogLine['level']) =>
    (fields: object, message: string): void => {
      lines.push({ level, fields: fields as Record<string, unknown>, message })
    }
  return { lines, logger: { info: record('info'), warn: record('warn'), error: record('error') } }
}

function messagesOf(lines: readonly LogLine[]): string[] {
  return lines.map((line) => `${line.level} ${line.message}`)
}

/** Returns the URL of the test server with its host and port replaced. */
function urlAt(port: number): string {
  const url = new URL(serverUrl)
  url.hostname = '127.0.0.1'
  url.port = String(port)
  return url.href
}

async function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve((server.address() as { port: number }).port)
    })
  })
}

async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

/** Returns a port on 127.0.0.1 where nothing listens, found by opening and closing a server. */
async function findClosedPort(): Promise<number> {
  const server = createServer()
  const port = await listen(server)
  await closeServer(server)
  return port
}

/** Starts a TCP proxy to the test server, which is cut after the current test. */
async function startProxy(): Promise<TcpProxy> {
  const target = new URL(serverUrl)
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432))
  proxies.add(() => proxy.close())
  return proxy
}

/** Functions that cut the proxies of the current test, called after it. */
const proxies = new Set<() => Promise<void>>()

if (!reachable && process.env.TIDINGS_REQUIRE_SERVICES === '1') {
  describe('PostgreSQL store', () => {
    it('reaches the test server', () => {
      assert.fail(
        `${unreachableReason}, or unset TIDINGS_REQUIRE_SERVICES to skip these tests instead`,
      )
    })
  })
}

describeStoreContract(
  'PostgreSQL',
  async (contractClock) => {
    const schema = freshSchema()
    const store = await PostgresStore.open({
      url: serverUrl,
      schema,
      now: contractClock.now,
      poolSize: POOL_SIZE,
    })
    return dropSchemaOnClose(store, schema)
  },
  skip === undefined ? {} : { skip },
)

describe('PostgresStore', { skip }, () => {
  const openStores: PostgresStore[] = []

  /** Opens a store on the test server that is closed after the test. */
  async function openStore(options: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
    const store = new PostgresStore({
      url: serverUrl,
      poolSize: POOL_SIZE,
      now: clock.now,
      ...options,
    })
    openStores.push(store)
    await store.init()
    return store
  }

  afterEach(async () => {
    // Proxies are cut first, so that a store with a frozen connection closes at once instead of
    // after its close timeout.
    for (const cut of proxies) await cut()
    proxies.clear()
    for (const store of openStores.splice(0)) await store.close()
    for (const schema of createdSchemas) await dropSchema(schema)
  })

  it('orders appends from two stores', async () => {
    const schema = freshSchema()
    const [first, second] = await Promise.all([openStore({ schema }), openStore({ schema })])
    const appends: Promise<StoredEvent>[] = []
    for (let n = 1; n <= 200; n++) {
      appends.push(first!.append(newEvent(`first ${n}`)), second!.append(newEvent(`second ${n}`)))
    }

    const stored = await Promise.all(appends)
    const readByFirst = await first!.readAfter(0, 1_000)
    const readBySecond = await second!.readAfter(0, 1_000)

    assert.deepEqual(
      positionsOf(stored).sort((a, b) => a - b),
      range(1, 400),
    )
    assert.deepEqual(positionsOf(readByFirst), range(1, 400))
    assert.deepEqual(readBySecond, readByFirst)
    const byPosition = new Map(stored.map((event) => [event.position, event]))
    for (const event of readByFirst) assert.deepEqual(event, byPosition.get(event.position))
    assert.deepEqual(await second!.bounds(), { trimmedThrough: 0, head: 400 })
  })

  it('notifies appends from another store', async () => {
    const schema = freshSchema()
    const publisher = await openStore({ schema })
    const watcher = await openStore({ schema })
    const notices: AppendNotice[] = []
    watcher.watch((notice) => notices.push(notice))

    for (let n = 1; n <= 3; n++) await publisher.append(newEvent(`event ${n}`))
    await waitFor(() => notices.length >= 3, 'three append notices')

    assert.deepEqual(notices, [{ head: 1 }, { head: 2 }, { head: 3 }])
  })

  it('ignores appends on another schema', async () => {
    const publisher = await openStore({ schema: freshSchema() })
    const otherSchema = freshSchema()
    const otherPublisher = await openStore({ schema: otherSchema })
    const otherWatcher = await openStore({ schema: otherSchema })
    const notices: AppendNotice[] = []
    otherWatcher.watch((notice) => notices.push(notice))

    await publisher.append(newEvent('elsewhere'))
    await otherPublisher.append(newEvent('here'))
    // Notifications arrive in commit order, so once the second one is heard, the first would
    // have been heard too.
    await waitFor(() => notices.length >= 1, 'the notice from the same schema')

    assert.deepEqual(notices, [{ head: 1 }])
  })

  it('sets up one schema concurrently', async () => {
    const schema = freshSchema()
    const stores = await Promise.all(range(1, 4).map(() => openStore({ schema })))

    const positions: number[] = []
    for (const store of stores)
      positions.push((await store.append(newEvent('after set-up'))).position)
    const version = await admin!.query<{ value: string }>(
      `SELECT value FROM ${pg.escapeIdentifier(schema)}.log_state WHERE key = 'schema_version'`,
    )

    assert.deepEqual(positions, [1, 2, 3, 4])
    assert.equal(version.rows[0]?.value, '1')
  })

  it('trims consistently from two stores', async () => {
    const schema = freshSchema()
    const first = await openStore({ schema })
    const second = await openStore({ schema })
    for (let n = 1; n <= 50; n++) await first.append(newEvent(`event ${n}`))

    const removed = await Promise.all([
      first.trim({ appendedBefore: 0, maxEvents: 10 }),
      second.trim({ appendedBefore: 0, maxEvents: 10 }),
      first.trim({ appendedBefore: 0, maxEvents: 20 }),
      second.trim({ appendedBefore: 0, maxEvents: 10 }),
    ])

    assert.equal(
      removed.reduce((sum, count) => sum + count, 0),
      40,
    )
    assert.deepEqual(await first.bounds(), { trimmedThrough: 40, head: 50 })
    assert.deepEqual(await second.bounds(), { trimmedThrough: 40, head: 50 })
    assert.deepEqual(positionsOf(await second.readAfter(0, 100)), range(41, 50))
    assert.equal((await second.append(newEvent('after trims'))).position, 51)
  })

  it('reconnects a terminated listener', async () => {
    const schema = freshSchema()
    const applicationName = `tidings_test_${randomBytes(6).toString('hex')}`
    const { lines, logger } = createRecordingLogger()
    const watcher = await openStore({ schema, applicationName, logger })
    const publisher = await openStore({ schema })
    const notices: AppendNotice[] = []
    watcher.watch((notice) => notices.push(notice))
    await publisher.append(newEvent('before'))
    await waitFor(() => notices.length >= 1, 'the notice before the termination')
    await watcher.append(newEvent('own'))

    // The pid is looked up first and terminated on its own, so that no other backend is touched.
    const found = await admin!.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
       WHERE application_name = $1 AND datname = current_database() AND pid <> pg_backend_pid()`,
      [`${applicationName} listener`],
    )
    assert.equal(found.rows.length, 1)
    const terminated = await admin!.query<{ done: boolean }>(
      'SELECT pg_terminate_backend($1) AS done',
      [found.rows[0]!.pid],
    )
    assert.equal(terminated.rows[0]?.done, true)
    await waitFor(() => notices.length >= 3, 'the head notice after reconnecting')
    await publisher.append(newEvent('after'))
    await waitFor(() => notices.length >= 4, 'the notice after reconnecting')

    assert.deepEqual(notices[0], { head: 1 })
    assert.equal(notices[1]?.event?.position, 2)
    assert.deepEqual(notices.slice(2), [{ head: 2 }, { head: 3 }])
    assert.deepEqual(messagesOf(lines), [
      'warn store listener connection lost',
      'info store listener reconnected',
    ])
    assert.equal(lines[1]?.fields.head, 2)
  })

  it('rejects append on a closed port', async () => {
    const { lines, logger } = createRecordingLogger()
    const store = new PostgresStore({ url: urlAt(await findClosedPort()), logger })
    openStores.push(store)
    const started = performance.now()

    await assert.rejects(store.append(newEvent('lost')), (err: Error) => {
      assert.equal((err as { code?: string }).code, 'ERR_STORE_UNAVAILABLE')
      assert.match(err.message, /unreachable/)
      assert.ok(err.cause instanceof Error)
      return true
    })

    assert.ok(performance.now() - started < 5_000)
    assert.deepEqual(messagesOf(lines), ['warn store unreachable'])
  })

  it('open: rejects a closed port', async () => {
    const started = performance.now()

    await assert.rejects(PostgresStore.open({ url: urlAt(await findClosedPort()) }), {
      code: 'ERR_STORE_UNAVAILABLE',
    })

    assert.ok(performance.now() - started < 5_000)
  })

  it('connectTimeoutMs: rejects a silent server', async () => {
    const accepted = new Set<Socket>()
    const silent = createServer((socket) => accepted.add(socket))
    const port = await listen(silent)
    try {
      const store = new PostgresStore({ url: urlAt(port), connectTimeoutMs: 300 })
      openStores.push(store)
      const started = performance.now()

      await assert.rejects(store.append(newEvent('lost')), { code: 'ERR_STORE_UNAVAILABLE' })

      assert.ok(performance.now() - started < 3_000)
    } finally {
      for (const socket of accepted) socket.destroy()
      await closeServer(silent)
    }
  })

  it('queryTimeoutMs: rejects a silent connection', async () => {
    const proxy = await startProxy()
    const store = await openStore({
      url: urlAt(proxy.port),
      schema: freshSchema(),
      queryTimeoutMs: 300,
    })
    await store.append(newEvent('before'))

    proxy.freeze()
    const started = performance.now()

    await assert.rejects(store.append(newEvent('lost')), { code: 'ERR_STORE_UNAVAILABLE' })
    assert.ok(performance.now() - started < 4_000)
  })

  it('recovers after an outage', async () => {
    const proxy = await startProxy()
    const { lines, logger } = createRecordingLogger()
    const store = await openStore({ url: urlAt(proxy.port), schema: freshSchema(), logger })
    const notices: AppendNotice[] = []
    store.watch((notice) => notices.push(notice))
    await store.append(newEvent('before'))

    await proxy.cut()
    await assert.rejects(store.append(newEvent('lost')), { code: 'ERR_STORE_UNAVAILABLE' })
    await assert.rejects(store.bounds(), { code: 'ERR_STORE_UNAVAILABLE' })
    await proxy.restore()
    const next = await store.append(newEvent('after'))
    await waitFor(
      () => lines.some((line) => line.message === 'store listener reconnected'),
      'the listener to reconnect',
    )

    assert.equal(next.position, 2)
    assert.deepEqual(await store.bounds(), { trimmedThrough: 0, head: 2 })
    const messages = messagesOf(lines)
    assert.equal(messages.filter((message) => message === 'warn store unreachable').length, 1)
    assert.ok(messages.includes('info store reachable again'))
    assert.ok(messages.includes('warn store listener connection lost'))
    assert.ok(notices.some((notice) => notice.event === undefined && notice.head >= 1))
  })

  it('close: ends a silent connection', async () => {
    const proxy = await startProxy()
    const store = await openStore({ url: urlAt(proxy.port), schema: freshSchema() })
    await store.append(newEvent('before'))

    proxy.freeze()
    const started = performance.now()
    await store.close()

    assert.ok(performance.now() - started < 4_000)
  })

  it('rejects operations after close', async () => {
    const store = await openStore({ schema: freshSchema() })

    await store.close()
    await store.close()

    await assert.rejects(store.append(newEvent('late')), { code: 'ERR_STORE_UNAVAILABLE' })
  })
})

describe('PostgresStore options', () => {
  const invalidOptions: [string, Partial<PostgresStoreOptions>][] = [
    ['uppercase schema', { schema: 'Hub' }],
    ['schema starting with a digit', { schema: '1hub' }],
    ['schema with a dash', { schema: 'hub-1' }],
    ['reserved schema prefix', { schema: 'pg_hub' }],
    ['empty schema', { schema: '' }],
    ['schema of 56 characters', { schema: 'a'.repeat(56) }],
    ['pool size 0', { poolSize: 0 }],
    ['fractional pool size', { poolSize: 1.5 }],
    ['negative connect timeout', { connectTimeoutMs: -1 }],
    ['infinite query timeout', { queryTimeoutMs: Number.POSITIVE_INFINITY }],
    ['application name with a newline', { applicationName: 'hub\n1' }],
    ['URL of another database', { url: 'mysql://root@127.0.0.1/test' }],
    ['text that is no URL', { url: 'not a url' }],
    ['URL with a schema parameter', { url: 'postgres://127.0.0.1/test?schema=hub1' }],
  ]
  for (const [name, options] of invalidOptions) {
    it(`rejects ${name}`, () => {
      assert.throws(() => new PostgresStore({ url: DEFAULT_URL, ...options }), {
        code: 'ERR_INVALID_OPTION',
      })
    })
  }

  it('accepts a schema of 55 characters', async () => {
    const store = new PostgresStore({ url: DEFAULT_URL, schema: 'a'.repeat(55) })
    await store.close()
  })

  it('hides the password of an invalid URL', () => {
    assert.throws(
      () => new PostgresStore({ url: 'http://hub:secret@127.0.0.1/test' }),
      (err: Error) => !err.message.includes('secret'),
    )
  })
})

describe('parsePostgresStoreUrl', () => {
  it('moves schema into the options', () => {
    assert.deepEqual(parsePostgresStoreUrl('postgres://hub:secret@db:5433/app?schema=hub1'), {
      url: 'postgres://hub:secret@db:5433/app',
      schema: 'hub1',
    })
  })

  it('keeps other parameters', () => {
    assert.deepEqual(
      parsePostgresStoreUrl('postgresql://db/app?sslmode=disable&schema=hub1&application_name=x'),
      { url: 'postgresql://db/app?sslmode=disable&application_name=x', schema: 'hub1' },
    )
  })

  it('leaves a plain URL unchanged', () => {
    assert.deepEqual(parsePostgresStoreUrl('postgres://db/app'), { url: 'postgres://db/app' })
  })

  it('rejects a repeated schema', () => {
    assert.throws(() => parsePostgresStoreUrl('postgres://db/app?schema=a&schema=b'), {
      code: 'ERR_INVALID_OPTION',
    })
  })

  it('rejects an invalid schema', () => {
    assert.throws(() => parsePostgresStoreUrl('postgres://db/app?schema=Hub%201'), {
      code: 'ERR_INVALID_OPTION',
    })
  })

  it('rejects another scheme', () => {
    assert.throws(() => parsePostgresStoreUrl('redis://db/0?schema=hub1'), {
      code: 'ERR_INVALID_OPTION',
    })
  })
})
