import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import net from 'node:net'
import { after, afterEach, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import type { AppendNotice, StoreLogger, StoredEvent } from '../src/store/event-store.js'
import { redactStoreUrl } from '../src/store/open-store.js'
import {
  RedisStore,
  redisStoreOptionsFromUrl,
  type RedisStoreOptions,
} from '../src/store/redis-store.js'
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js'
import { describeStoreContract } from './store-contract.js'

const REDIS_URL = process.env.TIDINGS_TEST_REDIS_URL || 'redis://127.0.0.1:6379'
const SHOWN_URL = redactStoreUrl(REDIS_URL)
const PROBE_TIMEOUT_MS = 1_000

/** How long a test waits for a reconnection, a notice or an outage to show. */
const WAIT_TIMEOUT_MS = 5_000

/** Bound on the time a command may take to fail while Redis is unreachable. */
const FAIL_FAST_MS = 3_000

const START_TIME = 1_700_000_000_000

/** An `appendedBefore` that removes no event, so that only `maxEvents` applies. */
const NO_AGE_LIMIT = 0

/** Returns true when a Redis server replies to PING at `url` within the probe timeout. */
async function isReachable(url: string): Promise<boolean> {
  let client: Redis | undefined
  try {
    client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: PROBE_TIMEOUT_MS,
      commandTimeout: PROBE_TIMEOUT_MS,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    })
    client.on('error', () => {})
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client?.disconnect()
  }
}

const reachable = await isReachable(REDIS_URL)
const requireServices = process.env.TIDINGS_REQUIRE_SERVICES === '1'
const suiteOptions = reachable
  ? {}
  : { skip: `Redis at ${SHOWN_URL} is not reachable; set TIDINGS_TEST_REDIS_URL` }

/** Every prefix a test used, so that its keys can be deleted. */
const usedPrefixes = new Set<string>()
let admin: Redis | undefined

/** Returns a connection for checks and cleanup, apart from the stores under test. */
function adminClient(): Redis {
  admin ??= new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
  return admin
}

/** Returns a key prefix that no other test, and no other user of the server, uses. */
function freshPrefix(): string {
  const prefix = `tidings-test:${randomUUID()}`
  usedPrefixes.add(prefix)
  return prefix
}

/** Deletes every key under `prefix`. */
async function deleteKeys(prefix: string): Promise<void> {
  for (const key of await keysUnder(prefix)) await adminClient().unlink(key)
  usedPrefixes.delete(prefix)
}

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await adminClient().scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
    keys.push(...batch)
    cursor = next
  } while (cursor !== '0')
  return keys.sort()
}

after(async () => {
  for (const prefix of [...usedPrefixes]) await deleteKeys(prefix)
  await admin?.quit()
})

/** A store on a fresh prefix whose `close` also deletes its keys. */
class DisposableRedisStore extends RedisStore {
  readonly #prefix: string

  constructor(now: () => number) {
    const prefix = freshPrefix()
    super({ url: REDIS_URL, prefix, now })
    this.#prefix = prefix
  }

  override async close(): Promise<void> {
    await super.close()
    await deleteKeys(this.#prefix)
  }
}

function newEvent(n: number) {
  return {
    eventType: 'counter.incremented',
    json: JSON.stringify({ eventType: 'counter.incremented', n }),
  }
}

/** Returns `[from, from + 1, …, to]`. */
function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

function positionsOf(events: readonly StoredEvent[]): number[] {
  return events.map((event) => event.position)
}

/** Resolves once `condition` holds, checking every 5 ms, and rejects after the timeout. */
async function waitFor(condition: () => boolean | Promise<boolean>, description: string) {
  const deadline = Date.now() + WAIT_TIMEOUT_MS
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${WAIT_TIMEOUT_MS} ms waiting for ${description}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

interface LogLine {
  readonly level: 'info' | 'warn' | 'error'
  readonly fields: Record<string, unknown>
  readonly message: string
}

/** Creates a logger that keeps its lines for assertions. */
function createRecordingLogger(): { logger: StoreLogger; lines: LogLine[] } {
  const lines: LogLine[] = []
  const record = (level: LogLine['level']) => (fields: object, message: string) => {
    lines.push({ level, fields: fields as Record<string, unknown>, message })
  }
  return { logger: { info: record('info'), warn: record('warn'), error: record('error') }, lines }
}

/** Returns the number of connections subscribed to the append channel of `prefix`. */
async function subscriberCount(prefix: string): Promise<number> {
  const reply = (await adminClient().call('PUBSUB', 'NUMSUB', `${prefix}:appended`)) as unknown[]
  return Number(reply[1])
}

/** Returns the ids of the server's connections named `name`. */
async function clientIdsNamed(name: string): Promise<string[]> {
  const list = (await adminClient().call('CLIENT', 'LIST')) as string
  const ids: string[] = []
  for (const line of list.split('\n')) {
    const fields = new Map(line.split(' ').map((field) => field.split('=', 2) as [string, string]))
    if (fields.get('name') === name) ids.push(fields.get('id')!)
  }
  return ids
}

/** Returns a port on 127.0.0.1 where nothing listens: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Returns the test server's URL with the address of `proxy`. */
function urlThrough(proxy: TcpProxy): string {
  const url = new URL(REDIS_URL)
  url.hostname = '127.0.0.1'
  url.port = String(proxy.port)
  return url.toString()
}

if (!reachable && requireServices) {
  describe('Redis store', () => {
    it('reaches the Redis server', () => {
      assert.fail(
        `Redis at ${SHOWN_URL} is not reachable; start it, or set TIDINGS_TEST_REDIS_URL to a server that is`,
      )
    })
  })
} else {
  describeStoreContract('Redis', (clock) => new DisposableRedisStore(clock.now), suiteOptions)

  describe('RedisStore', suiteOptions, () => {
    const clock = { now: () => START_TIME }
    const openStores: RedisStore[] = []

    function openStore(options: Partial<RedisStoreOptions> & { prefix: string }): RedisStore {
      const store = new RedisStore({ url: REDIS_URL, now: clock.now, ...options })
      openStores.push(store)
      return store
    }

    afterEach(async () => {
      await Promise.all(openStores.splice(0).map((store) => store.close()))
      for (const prefix of [...usedPrefixes]) await deleteKeys(prefix)
    })

    describe('shared log', () => {
      it('gives appends from two stores one order', async () => {
        const prefix = freshPrefix()
        const first = openStore({ prefix })
        const second = openStore({ prefix })

        const stored = await Promise.all(
          range(1, 40).map((n) => (n % 2 === 0 ? first : second).append(newEvent(n))),
        )
        const byPosition = [...stored].sort((a, b) => a.position - b.position)
        const readByFirst = await first.readAfter(0, 100)
        const readBySecond = await second.readAfter(0, 100)

        assert.deepEqual(positionsOf(byPosition), range(1, 40))
        assert.deepEqual(readByFirst, byPosition)
        assert.deepEqual(readBySecond, byPosition)
        assert.deepEqual(await first.bounds(), { trimmedThrough: 0, head: 40 })
        assert.deepEqual(await second.bounds(), { trimmedThrough: 0, head: 40 })
      })

      it('notifies appends made through another store', async () => {
        const prefix = freshPrefix()
        const watcher = openStore({ prefix })
        const publisher = openStore({ prefix })
        const notices: AppendNotice[] = []
        watcher.watch((notice) => notices.push(notice))
        await waitFor(async () => (await subscriberCount(prefix)) === 1, 'the subscription')

        await publisher.append(newEvent(1))
        await publisher.append(newEvent(2))
        await waitFor(() => notices.at(-1)?.head === 2, 'a notice of head 2')

        // Head-only notices announce every append up to their head, so a notice may stand for
        // several appends, but heads never repeat or go back.
        const heads = notices.map((notice) => notice.head)
        assert.deepEqual(
          heads,
          [...new Set(heads)].sort((a, b) => a - b),
        )
        assert.ok(heads.every((head) => head >= 1 && head <= 2))
        assert.ok(notices.every((notice) => notice.event === undefined))
      })

      it('notifies own appends once', async () => {
        const prefix = freshPrefix()
        const store = openStore({ prefix })
        const notices: AppendNotice[] = []
        store.watch((notice) => notices.push(notice))
        await waitFor(async () => (await subscriberCount(prefix)) === 1, 'the subscription')

        const stored = await store.append(newEvent(1))
        // A message from another store after this one's own shows that its own was skipped.
        await openStore({ prefix }).append(newEvent(2))
        await waitFor(() => notices.length >= 2, 'two notices')

        assert.deepEqual(notices, [{ head: 1, event: stored }, { head: 2 }])
      })

      it('trims consistently from two stores', async () => {
        const prefix = freshPrefix()
        const first = openStore({ prefix })
        const second = openStore({ prefix })
        await Promise.all(range(1, 50).map((n) => first.append(newEvent(n))))

        const removed = await Promise.all([
          first.trim({ appendedBefore: NO_AGE_LIMIT, maxEvents: 10 }),
          second.trim({ appendedBefore: NO_AGE_LIMIT, maxEvents: 20 }),
          first.trim({ appendedBefore: NO_AGE_LIMIT, maxEvents: 10 }),
          second.trim({ appendedBefore: NO_AGE_LIMIT, maxEvents: 10 }),
        ])

        assert.equal(
          removed.reduce((sum, count) => sum + count, 0),
          40,
        )
        assert.deepEqual(await first.bounds(), { trimmedThrough: 40, head: 50 })
        assert.deepEqual(await second.bounds(), { trimmedThrough: 40, head: 50 })
        assert.deepEqual(positionsOf(await first.readAfter(0, 100)), range(41, 50))
        assert.deepEqual(positionsOf(await second.readAfter(0, 100)), range(41, 50))
      })

      it('appendedBefore: trims beyond one script call', async () => {
        const prefix = freshPrefix()
        const store = openStore({ prefix })
        const count = 12_000
        for (let from = 1; from <= count; from += 1_000) {
          await Promise.all(range(from, from + 999).map((n) => store.append(newEvent(n))))
        }

        const removed = await store.trim({ appendedBefore: START_TIME + 1, maxEvents: count })

        assert.equal(removed, count)
        assert.deepEqual(await store.bounds(), { trimmedThrough: count, head: count })
        assert.deepEqual(await store.readAfter(0, 10), [])
      })
    })

    describe('subscriptions', () => {
      it('creates no key for unknown ids', async () => {
        const prefix = freshPrefix()
        const store = openStore({ prefix })
        const unknownId = randomUUID()

        await store.updateSubscriptions([
          { id: unknownId, position: 5, connectionState: 'closed', lastSeenAt: START_TIME },
        ])

        assert.equal(await adminClient().exists(`${prefix}:sub:${unknownId}`), 0)
        assert.equal(await adminClient().zscore(`${prefix}:subs-by-seen`, unknownId), null)
      })

      it('expires beyond one script call', async () => {
        const prefix = freshPrefix()
        const store = openStore({ prefix })
        const count = 1_200
        await Promise.all(
          range(1, count).map((n) =>
            store.createSubscription({
              id: randomUUID(),
              position: n,
              startPosition: 0,
              connectionState: 'closed',
              createdAt: START_TIME,
              lastSeenAt: START_TIME + n,
            }),
          ),
        )

        const expired = await store.expireSubscriptions(START_TIME + count + 1)

        assert.equal(expired, count)
        assert.deepEqual(await keysUnder(prefix), [])
      })
    })

    describe('key layout', () => {
      it('keeps every key under the prefix', async () => {
        const prefix = freshPrefix()
        const store = openStore({ prefix })
        const id = randomUUID()
        await store.append(newEvent(1))
        await store.append(newEvent(2))
        await store.trim({ appendedBefore: NO_AGE_LIMIT, maxEvents: 1 })
        await store.createSubscription({
          id,
          position: 1,
          startPosition: 0,
          connectionState: 'open',
          createdAt: START_TIME,
          lastSeenAt: START_TIME,
        })

        assert.deepEqual(await keysUnder(prefix), [
          `${prefix}:head`,
          `${prefix}:log`,
          `${prefix}:sub:${id}`,
          `${prefix}:subs-by-seen`,
          `${prefix}:trimmed-through`,
        ])
        assert.deepEqual(await adminClient().xrange(`${prefix}:log`, '-', '+'), [
          [
            '2-0',
            [
              'eventType',
              'counter.incremented',
              'json',
              newEvent(2).json,
              'createdAt',
              `${START_TIME}`,
            ],
          ],
        ])
      })
    })

    describe('outages', () => {
      it('announces the head after reconnecting', async () => {
        const prefix = freshPrefix()
        const clientName = `tidings-test-${randomUUID()}`
        const { logger, lines } = createRecordingLogger()
        const store = openStore({ prefix, clientName, logger, maxReconnectDelayMs: 100 })
        const notices: AppendNotice[] = []
        store.watch((notice) => notices.push(notice))
        await waitFor(async () => (await subscriberCount(prefix)) === 1, 'the subscription')
        await store.append(newEvent(1))
        await store.append(newEvent(2))
        notices.length = 0

        const [watchClientId, ...others] = await clientIdsNamed(`${clientName}:watch`)
        assert.equal(others.length, 0)
        await adminClient().call('CLIENT', 'KILL', 'ID', watchClientId!)
        await waitFor(() => notices.length >= 1, 'a notice after reconnecting')

        assert.deepEqual(notices, [{ head: 2 }])
        assert.notDeepEqual(await clientIdsNamed(`${clientName}:watch`), [watchClientId])
        assert.deepEqual(
          lines.map((line) => [line.level, line.message, line.fields.connection]),
          [
            ['warn', 'redis connection lost', 'watch'],
            ['info', 'redis connection restored', 'watch'],
          ],
        )
      })

      it('rejects at once without a server', async () => {
        const port = await closedPort()
        const { logger, lines } = createRecordingLogger()
        const store = openStore({ url: `redis://127.0.0.1:${port}`, prefix: freshPrefix(), logger })

        const firstStarted = performance.now()
        const failure = await store.append(newEvent(1)).then(
          () => assert.fail('append resolved without a server'),
          (err: unknown) => err as Error & { code?: string; cause?: { code?: string } },
        )
        const firstMs = performance.now() - firstStarted
        const secondStarted = performance.now()
        await assert.rejects(store.bounds(), { code: 'ERR_STORE_UNAVAILABLE' })
        const secondMs = performance.now() - secondStarted

        assert.equal(failure.code, 'ERR_STORE_UNAVAILABLE')
        assert.equal(failure.cause?.code, 'ECONNREFUSED')
        assert.ok(firstMs < FAIL_FAST_MS, `first command took ${firstMs} ms`)
        assert.ok(secondMs < FAIL_FAST_MS, `second command took ${secondMs} ms`)
        assert.deepEqual(
          lines.map((line) => [line.level, line.message]),
          [['warn', 'redis connection failed']],
        )
      })

      it('works again after Redis returns', async () => {
        const target = new URL(REDIS_URL)
        const proxy = await startTcpProxy(target.hostname, Number(target.port || 6379))
        const { logger, lines } = createRecordingLogger()
        const store = openStore({
          url: urlThrough(proxy),
          prefix: freshPrefix(),
          logger,
          maxReconnectDelayMs: 100,
        })
        try {
          assert.equal((await store.append(newEvent(1))).position, 1)

          await proxy.cut()
          await waitFor(
            () => lines.some((line) => line.message === 'redis connection lost'),
            'the connection loss',
          )
          const started = performance.now()
          await assert.rejects(store.append(newEvent(2)), { code: 'ERR_STORE_UNAVAILABLE' })
          assert.ok(performance.now() - started < FAIL_FAST_MS)

          await proxy.restore()
          await waitFor(
            () => lines.some((line) => line.message === 'redis connection restored'),
            'the reconnection',
          )

          assert.equal((await store.append(newEvent(3))).position, 2)
          assert.deepEqual(
            lines.map((line) => [line.level, line.message]),
            [
              ['warn', 'redis connection lost'],
              ['info', 'redis connection restored'],
            ],
          )
        } finally {
          await store.close()
          await proxy.close()
        }
      })

      it('rejects commands after close', async () => {
        const store = openStore({ prefix: freshPrefix() })
        await store.append(newEvent(1))
        await store.close()
        await store.close()

        await assert.rejects(store.append(newEvent(2)), { code: 'ERR_STORE_UNAVAILABLE' })
      })
    })
  })
}

describe('redisStoreOptionsFromUrl', () => {
  it('moves the prefix parameter into the options', () => {
    assert.deepEqual(redisStoreOptionsFromUrl('redis://127.0.0.1:6379/0?prefix=hub1'), {
      url: 'redis://127.0.0.1:6379/0',
      prefix: 'hub1',
    })
  })

  it('keeps credentials and TLS in the URL', () => {
    assert.deepEqual(redisStoreOptionsFromUrl('rediss://user:secret@cache.internal:6380/2'), {
      url: 'rediss://user:secret@cache.internal:6380/2',
    })
  })

  it('rejects invalid URLs', () => {
    const invalid = [
      'http://127.0.0.1:6379',
      'redis://',
      'redis://127.0.0.1:6379/zero',
      'redis://127.0.0.1:6379?prefix=',
      'redis://127.0.0.1:6379?prefix=a&prefix=b',
      'redis://127.0.0.1:6379?db=1',
      'not a url',
    ]
    for (const url of invalid) {
      assert.throws(() => redisStoreOptionsFromUrl(url), { code: 'ERR_INVALID_OPTION' }, url)
    }
  })

  it('leaves the password out of its error', () => {
    assert.throws(
      () => redisStoreOptionsFromUrl('redis://user:secret@127.0.0.1:6379?db=1'),
      (err: Error) => !err.message.includes('secret'),
    )
  })
})

describe('RedisStore options', () => {
  const invalid: [string, Partial<RedisStoreOptions>][] = [
    ['an empty prefix', { prefix: '' }],
    ['a URL with a query', { url: 'redis://127.0.0.1:6379?prefix=hub1' }],
    ['a client name with a space', { clientName: 'my hub' }],
    ['a zero reconnect delay', { maxReconnectDelayMs: 0 }],
    ['a negative connect timeout', { connectTimeoutMs: -1 }],
    ['an infinite command timeout', { commandTimeoutMs: Number.POSITIVE_INFINITY }],
  ]
  for (const [description, options] of invalid) {
    it(`rejects ${description}`, () => {
      assert.throws(() => new RedisStore({ url: 'redis://127.0.0.1:6379', ...options }), {
        code: 'ERR_INVALID_OPTION',
      })
    })
  }
})
