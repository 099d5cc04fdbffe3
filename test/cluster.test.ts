/**
 * Three hub processes on one shared store: subscribers spread across them, publishers on all of
 * them, a hub killed mid-stream and a store that goes away during publishing. Every subscriber
 * must end with every event of the log exactly once, in the log's order.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { connect } from 'node:net'
import { after, describe, it } from 'node:test'
import { FailoverSubscriber } from './helpers/failover-subscriber.js'
import { startHubProcess, type HubProcess } from './helpers/hub-process.js'
import { subscribe } from './helpers/sse-test-client.js'
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js'

interface Backend {
  readonly name: string
  readonly host: string
  readonly port: number
  /** Store URL for a fresh, isolated log reached through `port`. */
  storeUrl(port: number, namespace: string): string
}

const redisUrl = new URL(process.env['TIDINGS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379')
const postgresUrl = new URL(
  process.env['TIDINGS_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
)

const BACKENDS: readonly Backend[] = [
  {
    name: 'Redis',
    host: redisUrl.hostname,
    port: Number(redisUrl.port || 6379),
    storeUrl: (port, namespace) =>
      `redis://127.0.0.1:${port}${redisUrl.pathname}?prefix=${namespace}`,
  },
  {
    name: 'PostgreSQL',
    host: postgresUrl.hostname,
    port: Number(postgresUrl.port || 5432),
    storeUrl: (port, namespace) => {
      const url = new URL(postgresUrl)
      url.hostname = '127.0.0.1'
      url.port = String(port)
      url.searchParams.set('schema', namespace)
      return url.toString()
    },
  },
]

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1_000 }, () => {
      socket.destroy()
      resolve(true)
    })
    socket.on('error', () => resolve(false))
    socket.on('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Posts JSON on a connection of its own, so a killed hub leaves no pooled socket behind. */
function post(url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** Publishes `count` events from `concurrency` publishers, round robin over the live hubs. */
async function publishAcross(
  liveHubs: () => string[],
  count: number,
  concurrency: number,
  onAccepted: (accepted: number) => void,
): Promise<{ accepted: number; failed: number; statuses: Map<number, number> }> {
  let next = 0
  let accepted = 0
  let failed = 0
  const statuses = new Map<number, number>()
  const worker = async (publisher: number): Promise<void> => {
    while (next < count) {
      const n = next++
      const hubs = liveHubs()
      const hub = hubs[n % hubs.length]!
      try {
        const status = await post(
          `${hub}/api/v1/events`,
          JSON.stringify({ eventType: 'SEQ', publisher, n }),
        )
        statuses.set(status, (statuses.get(status) ?? 0) + 1)
        if (status === 202) {
          onAccepted(++accepted)
        } else {
          failed++
          // A client backs off on 503 before its next publish.
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      } catch {
        // The hub died mid-request. The event may or may not be in the log, so it is not
        // retried; the check below compares against the log itself.
        failed++
      }
    }
  }
  await Promise.all(range(1, concurrency).map(worker))
  return { accepted, failed, statuses }
}

/** Reads the whole log through a hub: a subscription resumed from position 0 replays it. */
async function readLog(hub: string): Promise<{ position: number; json: any }[]> {
  const probe = await subscribe(`${hub}/api/v1/sse`)
  probe.client.close()
  const head = Number(probe.client.events[0]!.id!.split('.')[1])
  const replay = await subscribe(`${hub}/api/v1/sse`, {
    headers: { 'last-event-id': `${probe.subscriptionId}.0` },
    byteByByte: false,
  })
  const events = await replay.client.waitForEvents(1 + head, 60_000)
  replay.client.close()
  return events
    .slice(1)
    .map((event) => ({ position: Number(event.id!.split('.')[1]), json: event.json }))
}

function assertEveryEventOnce(
  subscribers: readonly FailoverSubscriber[],
  log: readonly { position: number; json: any }[],
): void {
  for (const [index, subscriber] of subscribers.entries()) {
    const positions = subscriber.received.map((event) => event.position)
    assert.deepEqual(positions, range(1, log.length), `subscriber ${index} positions`)
    assert.deepEqual(
      subscriber.received.map((event) => event.json),
      log.map((event) => event.json),
      `subscriber ${index} payloads`,
    )
    assert.equal(subscriber.resets, 0, `subscriber ${index} resets`)
  }
}

for (const backend of BACKENDS) {
  const available = await reachable(backend.host, backend.port)
  const required = process.env['TIDINGS_REQUIRE_SERVICES'] === '1'
  const skip =
    available || required
      ? false
      : `${backend.name} at ${backend.host}:${backend.port} is not reachable`

  describe(`cluster on ${backend.name}`, { skip }, () => {
    const hubs: HubProcess[] = []
    const proxies: TcpProxy[] = []
    after(async () => {
      for (const hub of hubs) {
        hub.child.kill('SIGKILL')
        await hub.exited
      }
      for (const proxy of proxies) await proxy.close()
    })

    async function startCluster(storeUrl: string): Promise<HubProcess[]> {
      assert.ok(available, `${backend.name} at ${backend.host}:${backend.port} is not reachable`)
      const started = await Promise.all(
        range(1, 3).map(() => startHubProcess(['serve', '--port', '0', '--store', storeUrl])),
      )
      hubs.push(...started)
      return started
    }

    it(
      'delivers every event once when a hub is killed mid-stream',
      { timeout: 120_000 },
      async () => {
        const namespace = `tidings_cluster_${randomBytes(4).toString('hex')}`
        const cluster = await startCluster(backend.storeUrl(backend.port, namespace))
        const alive = new Set(cluster)
        const liveHubs = (): string[] =>
          cluster.filter((hub) => alive.has(hub)).map((hub) => hub.url)

        const subscribers = range(0, 11).map((i) => new FailoverSubscriber(liveHubs, i % 3))
        await Promise.all(subscribers.map((subscriber) => subscriber.established))

        const victim = cluster[1]!
        const result = await publishAcross(liveHubs, 10_000, 4, (accepted) => {
          if (accepted === 3_000 && alive.has(victim)) {
            alive.delete(victim)
            victim.child.kill('SIGKILL')
          }
        })
        assert.ok(result.accepted >= 9_900, `accepted ${result.accepted}, failed ${result.failed}`)

        const log = await readLog(liveHubs()[0]!)
        assert.ok(log.length >= result.accepted, `log ${log.length}, accepted ${result.accepted}`)
        await waitUntil(
          () => subscribers.every((subscriber) => subscriber.lastPosition >= log.length),
          60_000,
          'every subscriber to reach the head',
        )
        await Promise.all(subscribers.map((subscriber) => subscriber.stop()))
        assertEveryEventOnce(subscribers, log)
        assert.ok(
          subscribers.some((subscriber) => subscriber.resumes > 0),
          'some subscribers moved to another hub',
        )
      },
    )

    it(
      'delivers every event once when the store goes away and returns',
      { timeout: 120_000 },
      async () => {
        const proxy = await startTcpProxy(backend.host, backend.port)
        proxies.push(proxy)
        const namespace = `tidings_outage_${randomBytes(4).toString('hex')}`
        const cluster = await startCluster(backend.storeUrl(proxy.port, namespace))
        const liveHubs = (): string[] => cluster.map((hub) => hub.url)

        const subscribers = range(0, 5).map((i) => new FailoverSubscriber(liveHubs, i % 3))
        await Promise.all(subscribers.map((subscriber) => subscriber.established))

        let cutDone: Promise<void> | undefined
        const result = await publishAcross(liveHubs, 3_000, 2, (accepted) => {
          if (accepted === 1_000) {
            cutDone = (async () => {
              await proxy.cut()
              await new Promise((resolve) => setTimeout(resolve, 1_500))
              await proxy.restore()
            })()
          }
        })
        await cutDone
        assert.ok(
          (result.statuses.get(503) ?? 0) > 0,
          `statuses ${JSON.stringify([...result.statuses])}`,
        )
        assert.equal(
          [...result.statuses.keys()].filter((status) => status !== 202 && status !== 503).length,
          0,
          `statuses ${JSON.stringify([...result.statuses])}`,
        )

        const log = await readLog(liveHubs()[0]!)
        await waitUntil(
          () => subscribers.every((subscriber) => subscriber.lastPosition >= log.length),
          60_000,
          'every subscriber to reach the head',
        )
        await Promise.all(subscribers.map((subscriber) => subscriber.stop()))
        assertEveryEventOnce(subscribers, log)
      },
    )
  })
}
