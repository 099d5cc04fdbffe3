import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, describe, it } from 'node:test'
import { createHubRouter } from '../src/http/router.js'
import { SseSubscriptionService } from '../src/hub/sse-subscription-service.js'
import type { AppendNotice, EventStore } from '../src/store/event-store.js'
import { MemoryStore } from '../src/store/memory-store.js'
import { positionsOf, subscribe } from './helpers/sse-test-client.js'

/**
 * A memory store that behaves like a log shared with other hub processes: notices carry only the
 * head, and `silent` drops them, as when the store was unreachable for a while.
 */
class SharedMemoryStore extends MemoryStore implements EventStore {
  override readonly shared = true
  silent = false
  readonly #listeners = new Set<(notice: AppendNotice) => void>()

  constructor() {
    super()
    super.watch((notice) => {
      if (this.silent) return
      for (const listener of this.#listeners) listener({ head: notice.head })
    })
  }

  override watch(listener: (notice: AppendNotice) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }
}

async function startServer(
  service: SseSubscriptionService,
): Promise<{ server: Server; url: string }> {
  const router = createHubRouter({ service })
  const server = createServer((req, res) => router.lookup(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

describe('shared log', () => {
  const cleanups: (() => Promise<void>)[] = []
  after(async () => {
    for (const cleanup of cleanups) await cleanup()
  })

  async function setUp(options: { headPollIntervalMs?: number } = {}) {
    const store = new SharedMemoryStore()
    const service = new SseSubscriptionService({ store, ...options })
    const { server, url } = await startServer(service)
    cleanups.push(async () => {
      await service.close(100)
      server.closeAllConnections()
      server.close()
    })
    return { store, service, url }
  }

  it('delivers appends announced by head-only notices, in order', async () => {
    const { store, service, url } = await setUp()
    const stream = await subscribe(`${url}/api/v1/sse`)
    const published: number[] = []
    for (let i = 0; i < 30; i++)
      published.push((await service.notifySubscribers({ eventType: 'E', i })).position)
    const events = await stream.client.waitForEvents(31)
    assert.deepEqual(positionsOf(events), published)
    assert.equal(store.shared, true)
    stream.client.close()
  })

  it('headPollIntervalMs: finds appends whose notices were lost', async () => {
    const { store, url } = await setUp({ headPollIntervalMs: 20 })
    const stream = await subscribe(`${url}/api/v1/sse`)
    store.silent = true
    const published: number[] = []
    for (let i = 0; i < 5; i++)
      published.push(
        (await store.append({ eventType: 'E', json: `{"eventType":"E","i":${i}}` })).position,
      )
    const events = await stream.client.waitForEvents(6)
    assert.deepEqual(positionsOf(events), published)
    stream.client.close()
  })

  it('ends live streams when events were trimmed before this hub read them', async () => {
    const { store, service, url } = await setUp({ headPollIntervalMs: 60_000 })
    const stream = await subscribe(`${url}/api/v1/sse`)
    store.silent = true
    for (let i = 0; i < 20; i++)
      await store.append({ eventType: 'E', json: `{"eventType":"E","i":${i}}` })
    await store.trim({ appendedBefore: 0, maxEvents: 5 })
    store.silent = false
    const next = await service.notifySubscribers({ eventType: 'AFTER' })
    await stream.client.ended
    assert.equal(stream.client.events.length, 1)

    const resumed = await subscribe(`${url}/api/v1/sse/${stream.subscriptionId}`)
    assert.equal(resumed.established.reset, true)
    assert.equal(Number(resumed.client.events[0]!.id!.split('.')[1]), next.position)
    resumed.client.close()
  })
})
