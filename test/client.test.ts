import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { once } from 'node:events'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { EventSource } from 'eventsource'
import type { Page } from 'playwright-core'
import {
  chromiumRequired,
  chromiumSkipReason,
  launchChromium,
  type ChromiumSession,
} from './helpers/browser.js'
import ts from 'typescript'
import type { CaseEventMap as ServerCaseEventMap } from '../src/cases/case-events.js'
import {
  createTidingsClient,
  TidingsClientError,
  type CaseEventMap,
  type EstablishedConnection,
  type EventInfo,
  type FetchFunction,
  type ReconnectSchedule,
  type StateChange,
  type TidingsClient,
  type TidingsClientOptions,
  type TidingsEvent,
} from '../src/client/index.js'
import { SqliteStore } from '../src/store/sqlite-store.js'
import { makeTempDir, postJson, startTestHub, type TestHub } from './helpers/test-hub.js'

const CLIENT_SOURCES = fileURLToPath(new URL('../src/client/', import.meta.url))

// Compile-time checks: the client's case shapes match the hub's event classes, and a map of
// server classes, imported for its types only, works as the client's event map.
type Assert<T extends true> = T
type IsAssignable<From, To> = [From] extends [To] ? true : false
export type ClientCaseShapesMatchServer = Assert<
  IsAssignable<CaseEventMap[keyof CaseEventMap], ServerCaseEventMap[keyof ServerCaseEventMap]>
>
export type ServerMapIsAnEventMap = TidingsClient<ServerCaseEventMap>

/** Compile-time checks of handler types. It is never called. */
export function checkHandlerTypes(cases: TidingsClient<CaseEventMap>, any: TidingsClient): void {
  cases.on('CASE_ASSIGNED', (event) => {
    const assigneeId: string = event.assigneeId
    // @ts-expect-error CASE_ASSIGNED events have no title
    void event.title
    void assigneeId
  })
  // @ts-expect-error an event type that is not in the map
  cases.on('CASE_DELETED', () => {})
  any.on('INVOICE_PAID', (event) => {
    const eventType: string = event.eventType
    void eventType
  })
}

/** Everything a client reported, in order. */
interface Recording {
  readonly events: { event: TidingsEvent; info: EventInfo }[]
  readonly errors: TidingsClientError[]
  readonly states: StateChange[]
  readonly opens: EstablishedConnection[]
  readonly resets: EstablishedConnection[]
  readonly schedules: (ReconnectSchedule & { at: number })[]
}

function record(client: TidingsClient<any>): Recording {
  const recording: Recording = {
    events: [],
    errors: [],
    states: [],
    opens: [],
    resets: [],
    schedules: [],
  }
  client.onEvent((event, info) => recording.events.push({ event, info }))
  client.onError((error) => recording.errors.push(error))
  client.onStateChange((change) => recording.states.push(change))
  client.onOpen((established) => recording.opens.push(established))
  client.onReset((established) => recording.resets.push(established))
  client.onReconnectScheduled((schedule) =>
    recording.schedules.push({ ...schedule, at: performance.now() }),
  )
  return recording
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls every 5 ms until `check` returns true. */
async function waitFor(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)
    await delay(5)
  }
}

/** Resolves as `promise` does, or rejects after `timeoutMs`. */
async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    )
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

function waitForState(client: TidingsClient<any>, state: string): Promise<void> {
  return waitFor(() => client.state === state, `state ${state}`)
}

/** Publishes events in-process, so no test socket appears next to the client's. */
async function publish(hub: TestHub, count: number, eventType = 'SEQ'): Promise<number[]> {
  const positions: number[] = []
  for (let i = 0; i < count; i++) {
    positions.push((await hub.service.notifySubscribers({ eventType, i })).position)
  }
  return positions
}

function positionsOf(recording: Recording): (number | undefined)[] {
  return recording.events.map(({ info }) => info.position)
}

/** Client options that reconnect within milliseconds. */
const FAST: Partial<TidingsClientOptions> = { initialDelayMs: 5, maxDelayMs: 20 }

/**
 * Creates a fetch for the client that the test can disturb. It can hold new requests until released. It
 * can cut the client off from a stream while the hub's side stays open, as a network that died
 * silently does. It can drop the `lastEventId` parameter, as a proxy that strips queries would.
 */
function createTestFetch(options: { dropLastEventId?: boolean } = {}) {
  const urls: string[] = []
  const streams: { raw: string; cut: () => void; upstream: AbortController }[] = []
  let gate: Promise<void> | undefined
  let openGate = (): void => {}

  const testFetch: FetchFunction = async (url, init) => {
    urls.push(url)
    if (gate) await gate
    const upstream = new AbortController()
    const target = options.dropLastEventId ? url.replace(/\?lastEventId=[^&]*$/, '') : url
    const response = await fetch(target, { ...init, signal: upstream.signal })
    let cut = false
    init.signal?.addEventListener('abort', () => {
      if (!cut) upstream.abort()
    })
    if (response.body === null) return response

    const entry = { raw: '', cut: () => {}, upstream }
    const reader = response.body.getReader()
    const decoder = new TextDecoder()
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        entry.cut = () => {
          cut = true
          controller.error(new TypeError('network connection lost (cut by the test)'))
        }
      },
      async pull(controller) {
        try {
          const { done, value } = await reader.read()
          if (done) return controller.close()
          entry.raw += decoder.decode(value, { stream: true })
          controller.enqueue(value)
        } catch (error) {
          controller.error(error)
        }
      },
      cancel(reason) {
        if (!cut) return reader.cancel(reason)
      },
    })
    streams.push(entry)
    return new Response(body, { status: response.status, headers: response.headers })
  }

  return {
    fetch: testFetch,
    urls,
    streams,
    hold() {
      gate = new Promise((resolve) => (openGate = resolve))
    },
    release() {
      gate = undefined
      openGate()
    },
    /** Aborts every stream the hub still sends, including cut ones. */
    abortAll() {
      for (const stream of streams) stream.upstream.abort()
    },
  }
}

describe('client', () => {
  let hub: TestHub

  before(async () => {
    hub = await startTestHub({ retryMs: 10, uncleanResumeWindow: 5 })
  })
  after(() => hub.close())

  it('passes typed events to their handlers', async () => {
    const client = createTidingsClient<CaseEventMap>({ url: hub.url, ...FAST })
    const recording = record(client)
    const assigned: { caseId: string; assigneeId: string; position: number | undefined }[] = []
    let unassignedCalls = 0
    client.on('CASE_ASSIGNED', (event, info) => {
      assigned.push({ caseId: event.caseId, assigneeId: event.assigneeId, position: info.position })
    })
    const stopUnassigned = client.on('CASE_UNASSIGNED', () => unassignedCalls++)
    stopUnassigned()
    await waitForState(client, 'open')

    const created = await postJson(`${hub.url}/api/v1/cases`, {})
    const caseId: string = created.body.id
    const assign = await fetch(`${hub.url}/api/v1/cases/${caseId}/assignee`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ assigneeId: 'u-1' }),
    })
    await assign.text()
    assert.equal(assign.status, 200)
    const unassign = await fetch(`${hub.url}/api/v1/cases/${caseId}/assignee`, { method: 'DELETE' })
    await unassign.text()
    assert.equal(unassign.status, 200)
    await waitFor(() => recording.events.length === 3, 'three case events')

    assert.deepEqual(
      recording.events.map(({ event }) => event),
      [
        { eventType: 'CASE_CREATED', caseId },
        { eventType: 'CASE_ASSIGNED', caseId, assigneeId: 'u-1' },
        { eventType: 'CASE_UNASSIGNED', caseId },
      ],
    )
    assert.deepEqual(assigned, [
      { caseId, assigneeId: 'u-1', position: recording.events[1]!.info.position },
    ])
    assert.equal(unassignedCalls, 0)
    assert.equal(recording.events[1]!.info.id, `${client.subscriptionId}.${assigned[0]!.position}`)
    assert.equal(client.lastEventId, recording.events[2]!.info.id)
    assert.deepEqual(recording.opens, [
      {
        eventType: 'ESTABLISHED_CONNECTION',
        subscriptionId: client.subscriptionId,
        resumed: false,
        reset: false,
      },
    ])
    assert.deepEqual(recording.errors, [])
    client.close()
    assert.equal(client.state, 'closed')
  })

  it('drops replayed events after an unclean break', async () => {
    const testFetch = createTestFetch({ dropLastEventId: true })
    const client = createTidingsClient({ url: hub.url, fetch: testFetch.fetch, ...FAST })
    const recording = record(client)
    await waitForState(client, 'open')
    const published = await publish(hub, 8)
    await waitFor(() => recording.events.length === 8, 'eight events')

    // The client loses the stream; the hub's side stays open, so a resume by path id alone
    // replays the last five events again.
    testFetch.streams[0]!.cut()
    await waitFor(() => recording.opens.length === 2, 'the second stream')
    published.push(...(await publish(hub, 2)))
    await waitFor(() => recording.events.length >= 10, 'ten events')
    await delay(30)

    assert.deepEqual(positionsOf(recording), published)
    const lastSeen = `${client.subscriptionId}.${published[7]}`
    assert.equal(
      testFetch.urls[1],
      `${hub.url}/api/v1/sse/${client.subscriptionId}?lastEventId=${lastSeen}`,
    )
    const replayedIds = [...testFetch.streams[1]!.raw.matchAll(/^id: \S+\.(\d+)$/gm)].map((match) =>
      Number(match[1]),
    )
    assert.deepEqual(replayedIds.slice(1, 6), published.slice(3, 8), 'the hub replayed a window')
    assert.equal(recording.errors.length, 1)
    assert.equal(recording.errors[0]!.kind, 'network')
    assert.equal(recording.resets.length, 0)
    client.close()
    testFetch.abortAll()
  })

  it('resets for an unknown subscription id', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000'
    const client = createTidingsClient({ url: hub.url, subscriptionId: unknown, ...FAST })
    const recording = record(client)
    await waitFor(() => recording.resets.length === 1, 'the reset')
    const [position] = await publish(hub, 1)
    await waitFor(() => recording.events.length === 1, 'an event after the reset')

    assert.equal(recording.resets[0]!.reset, true)
    assert.notEqual(recording.resets[0]!.subscriptionId, unknown)
    assert.equal(client.subscriptionId, recording.resets[0]!.subscriptionId)
    assert.deepEqual(positionsOf(recording), [position])
    assert.deepEqual(recording.opens, recording.resets)
    client.close()
  })

  it('accepts lower positions after a reset', async () => {
    const first = createTidingsClient({ url: hub.url, ...FAST })
    await waitForState(first, 'open')
    const subscriptionId = first.subscriptionId!
    first.close()
    // As after restoring the hub's store from a backup: the client has seen positions the log
    // does not have yet.
    const [head] = await publish(hub, 1)
    const client = createTidingsClient({
      url: hub.url,
      lastEventId: `${subscriptionId}.${head! + 100}`,
      ...FAST,
    })
    const recording = record(client)
    await waitFor(() => recording.resets.length === 1, 'the reset')
    const [live] = await publish(hub, 1)
    await waitFor(() => recording.events.length === 1, 'an event after the reset')

    assert.equal(recording.resets[0]!.subscriptionId, subscriptionId)
    assert.deepEqual(positionsOf(recording), [live])
    assert.equal(client.lastEventId, `${subscriptionId}.${live}`)
    client.close()
  })

  it('closes on a malformed subscription id', async () => {
    const client = createTidingsClient({ url: hub.url, subscriptionId: 'not-a-uuid', ...FAST })
    const recording = record(client)
    await waitForState(client, 'closed')

    assert.equal(recording.errors.length, 1)
    const error = recording.errors[0]!
    assert.ok(error instanceof TidingsClientError)
    assert.equal(error.kind, 'http')
    assert.equal(error.status, 400)
    assert.equal(error.code, 'ERR_INVALID_SUBSCRIPTION_ID')
    assert.deepEqual(
      recording.states.map(({ previous, state }) => [previous, state]),
      [['connecting', 'closed']],
    )
    assert.equal(recording.states[0]!.error, error)
    assert.deepEqual(recording.schedules, [])
  })

  it('closes on a 404', async () => {
    const client = createTidingsClient({ url: `${hub.url}/not-the-hub`, ...FAST })
    const recording = record(client)
    await waitForState(client, 'closed')

    assert.equal(recording.errors.length, 1)
    assert.equal(recording.errors[0]!.status, 404)
    assert.equal(recording.errors[0]!.code, 'ERR_ROUTE_NOT_FOUND')
  })

  it('stops calling handlers after close', async () => {
    const client = createTidingsClient({ url: hub.url, ...FAST })
    const recording = record(client)
    let calls = 0
    client.onEvent(() => {
      calls++
      client.close()
    })
    await waitForState(client, 'open')
    await publish(hub, 3)
    await delay(30)

    assert.equal(calls, 1)
    assert.equal(recording.events.length, 1, 'only the first event reached any handler')
    assert.equal(client.state, 'closed')
  })
})

describe('client resume across hub restarts', () => {
  let temp: ReturnType<typeof makeTempDir>

  before(() => {
    temp = makeTempDir()
  })
  after(() => temp.remove())

  it('resumes exactly after the hub ends the stream', async () => {
    const storeUrl = `sqlite:${join(temp.dir, 'ended.db')}`
    const first = await startTestHub({ storeUrl, retryMs: 20 })
    const client = createTidingsClient({ url: first.url, ...FAST })
    const recording = record(client)
    await waitForState(client, 'open')
    const published = await publish(first, 3)
    await waitFor(() => recording.events.length === 3, 'three events')
    const subscriptionId = client.subscriptionId

    await first.close()
    await waitForState(client, 'reconnecting')
    const second = await startTestHub({ storeUrl, port: first.port, retryMs: 20 })
    try {
      published.push(...(await publish(second, 3)))
      await waitFor(() => recording.events.length >= 6, 'six events')
      published.push(...(await publish(second, 2)))
      await waitFor(() => recording.events.length >= 8, 'eight events')
      await delay(30)

      assert.deepEqual(positionsOf(recording), published)
      assert.equal(client.subscriptionId, subscriptionId)
      assert.equal(recording.opens.length, 2)
      assert.equal(recording.opens[1]!.resumed, true)
      assert.deepEqual(recording.resets, [])
      assert.ok(
        recording.errors.every((error) => error.kind === 'network'),
        'only failed connection attempts while the hub was down',
      )
      assert.ok(recording.schedules.every((schedule) => schedule.delayMs >= 20))
    } finally {
      client.close()
      await second.close()
    }
  })

  it('receives events written while the hub was down', async () => {
    const path = join(temp.dir, 'down.db')
    const first = await startTestHub({ storeUrl: `sqlite:${path}`, retryMs: 20 })
    const client = createTidingsClient({ url: first.url, ...FAST })
    const recording = record(client)
    await waitForState(client, 'open')
    const published = await publish(first, 2)
    await waitFor(() => recording.events.length === 2, 'two events')

    await first.close()
    // Another writer appends to the log while no hub runs.
    const store = new SqliteStore({ path })
    for (let i = 0; i < 4; i++) {
      published.push(
        (await store.append({ eventType: 'OFFLINE', json: `{"eventType":"OFFLINE","i":${i}}` }))
          .position,
      )
    }
    await store.close()
    await waitFor(() => recording.errors.length >= 2, 'failed attempts while the hub is down')

    const second = await startTestHub({ storeUrl: `sqlite:${path}`, port: first.port, retryMs: 20 })
    try {
      await waitFor(() => recording.events.length >= 6, 'six events')
      await delay(30)

      assert.deepEqual(positionsOf(recording), published)
      assert.deepEqual(
        recording.events.slice(2).map(({ event }) => event),
        [0, 1, 2, 3].map((i) => ({ eventType: 'OFFLINE', i })),
      )
      assert.equal(recording.opens.at(-1)!.resumed, true)
      assert.deepEqual(recording.resets, [])
      assert.ok(recording.errors.every((error) => error.kind === 'network'))
    } finally {
      client.close()
      await second.close()
    }
  })

  it('calls onReset after missed events were trimmed', async () => {
    const storeUrl = `sqlite:${join(temp.dir, 'trimmed.db')}`
    const first = await startTestHub({ storeUrl, retryMs: 10 })
    const testFetch = createTestFetch()
    const client = createTidingsClient({ url: first.url, fetch: testFetch.fetch, ...FAST })
    const recording = record(client)
    await waitForState(client, 'open')
    await publish(first, 1)
    await waitFor(() => recording.events.length === 1, 'one event')
    const subscriptionId = client.subscriptionId

    testFetch.hold()
    await first.close()
    const second = await startTestHub({
      storeUrl,
      port: first.port,
      retryMs: 10,
      retentionMaxEvents: 3,
    })
    try {
      await publish(second, 10)
      const maintained = await second.service.runMaintenance()
      assert.ok((maintained?.trimmedEvents ?? 0) > 0, 'events were trimmed')
      testFetch.release()
      await waitFor(() => recording.resets.length === 1, 'the reset')
      const [live] = await publish(second, 1)
      await waitFor(() => recording.events.length === 2, 'a live event after the reset')

      assert.equal(recording.resets[0]!.reset, true)
      assert.equal(recording.resets[0]!.subscriptionId, subscriptionId)
      assert.equal(positionsOf(recording)[1], live)
    } finally {
      client.close()
      await second.close()
    }
  })
})

describe('client backoff', () => {
  /** A URL on which nothing listens, so every attempt fails at once. */
  let refusedUrl: string

  before(async () => {
    const stopped = await startTestHub()
    refusedUrl = stopped.url
    await stopped.close()
  })

  /** Runs a client against the refused URL until it gives up, recording each attempt's time. */
  async function runUntilGivenUp(options: Partial<TidingsClientOptions>) {
    const attemptTimes: number[] = []
    const client = createTidingsClient({
      url: refusedUrl,
      fetch: (url, init) => {
        attemptTimes.push(performance.now())
        return fetch(url, init)
      },
      ...options,
    })
    const recording = record(client)
    await waitForState(client, 'closed')
    return { recording, attemptTimes }
  }

  /**
   * Checks that each wait, from the scheduling to the next attempt, lasted at least its delay and
   * not much longer. The upper margin allows for a machine busy with test files run in parallel.
   */
  function assertWaits(attemptTimes: number[], schedules: Recording['schedules']): void {
    schedules.forEach((schedule, i) => {
      const waited = attemptTimes[i + 1]! - schedule.at
      assert.ok(waited >= schedule.delayMs - 2, `wait ${i} of ${waited} ms < ${schedule.delayMs}`)
      assert.ok(waited <= schedule.delayMs + 250, `wait ${i} of ${waited} ms > ${schedule.delayMs}`)
    })
  }

  it('full: keeps each delay within the exponential bound', async () => {
    const { recording, attemptTimes } = await runUntilGivenUp({
      initialDelayMs: 8,
      maxDelayMs: 40,
      jitter: 'full',
      maxAttempts: 7,
    })

    assert.equal(attemptTimes.length, 7)
    assert.deepEqual(
      recording.schedules.map((schedule) => schedule.attempt),
      [1, 2, 3, 4, 5, 6],
    )
    for (const { attempt, delayMs } of recording.schedules) {
      assert.ok(delayMs >= 0, `delay ${delayMs}`)
      assert.ok(delayMs <= Math.min(40, 8 * 2 ** attempt), `delay ${delayMs} of attempt ${attempt}`)
    }
    assertWaits(attemptTimes, recording.schedules)
    const last = recording.errors.at(-1)!
    assert.equal(last.kind, 'network')
    assert.match(last.message, /Gave up after 7 failed connection attempts/)
    assert.equal(recording.states.at(-1)!.error, last)
  })

  it('decorrelated: keeps each delay within three times the last', async () => {
    const { recording, attemptTimes } = await runUntilGivenUp({
      initialDelayMs: 5,
      maxDelayMs: 40,
      jitter: 'decorrelated',
      maxAttempts: 7,
    })

    let previous = 5
    for (const { delayMs } of recording.schedules) {
      assert.ok(delayMs >= 5, `delay ${delayMs}`)
      assert.ok(delayMs <= Math.min(40, 3 * previous), `delay ${delayMs} after ${previous}`)
      previous = delayMs
    }
    assertWaits(attemptTimes, recording.schedules)
  })

  it('waits at least the hub retry value', async () => {
    const hub = await startTestHub({ retryMs: 60 })
    const client = createTidingsClient({ url: hub.url, initialDelayMs: 1, maxDelayMs: 5 })
    const recording = record(client)
    await waitForState(client, 'open')
    await hub.close()
    await waitFor(() => recording.schedules.length >= 2, 'two scheduled reconnections')
    client.close()

    assert.deepEqual(
      recording.schedules.map(({ attempt, delayMs }) => [attempt, delayMs]),
      [
        [0, 60],
        [1, 60],
      ],
    )
  })

  it('retries a 503 after its Retry-After until maxAttempts', async () => {
    const hub = await startTestHub()
    // A closed service responds to every subscribe request with 503 and `Retry-After: 1`.
    await hub.service.close(0)
    const attemptTimes: number[] = []
    const client = createTidingsClient({
      url: hub.url,
      ...FAST,
      maxAttempts: 2,
      fetch: (url, init) => {
        attemptTimes.push(performance.now())
        return fetch(url, init)
      },
    })
    const recording = record(client)
    try {
      await waitForState(client, 'closed')

      assert.equal(attemptTimes.length, 2)
      assert.deepEqual(
        recording.errors.map((error) => [error.kind, error.status, error.code]),
        [
          ['http', 503, 'ERR_HUB_CLOSED'],
          ['http', 503, 'ERR_HUB_CLOSED'],
          ['http', 503, 'ERR_HUB_CLOSED'],
        ],
      )
      assert.match(recording.errors[2]!.message, /Gave up after 2 failed connection attempts/)
      assert.deepEqual(
        recording.schedules.map(({ attempt, delayMs }) => [attempt, delayMs]),
        [[1, 1_000]],
      )
      assertWaits(attemptTimes, recording.schedules)
    } finally {
      await hub.close()
    }
  })
})

describe('client close', () => {
  let hub: TestHub

  before(async () => {
    hub = await startTestHub({ retryMs: 10 })
  })
  after(() => hub.close())

  /**
   * Counts active resources by type, such as `TCPSocketWrap` and `Timeout`, leaving out the
   * hub's side of its connections, which are the hub's own.
   *
   * NOTE: Node 20.20.2's fetch (undici 6.24.1) opens a new, unused connection to the hub after a
   * streaming response is aborted. Its client side idles unreferenced in the fetch pool, so it is
   * not listed, but the hub's side stays open until the hub's headers timeout.
   */
  async function clientResources(): Promise<Map<string, number>> {
    const counts = new Map<string, number>()
    for (const name of process.getActiveResourcesInfo()) {
      counts.set(name, (counts.get(name) ?? 0) + 1)
    }
    const hubSockets = await new Promise<number>((resolve, reject) => {
      hub.server.getConnections((error, count) => (error ? reject(error) : resolve(count)))
    })
    counts.set('TCPSocketWrap', (counts.get('TCPSocketWrap') ?? 0) - hubSockets)
    return counts
  }

  /**
   * Waits until no kind of resource is more frequent than before the client. Fewer is fine,
   * because servers and sockets of earlier tests may still be closing when `before` is taken.
   */
  async function assertNothingLeftBehind(before: Map<string, number>): Promise<void> {
    const extra = async (): Promise<Record<string, number>> => {
      const found: Record<string, number> = {}
      for (const [name, count] of await clientResources()) {
        if (count > (before.get(name) ?? 0)) found[name] = count - (before.get(name) ?? 0)
      }
      return found
    }
    const deadline = Date.now() + 2_000
    while (Object.keys(await extra()).length > 0 && Date.now() < deadline) await delay(5)
    assert.deepEqual(await extra(), {})
  }

  it('leaves no socket or timer while open', async () => {
    const before = await clientResources()
    const client = createTidingsClient({ url: hub.url, ...FAST })
    const recording = record(client)
    await waitForState(client, 'open')
    await publish(hub, 1)
    await waitFor(() => recording.events.length === 1, 'one event')
    const disconnected = once(hub.service, 'disconnected')

    client.close()
    await withTimeout(disconnected, 2_000, 'the hub to see the stream end')

    await assertNothingLeftBehind(before)
  })

  it('leaves no timer while waiting to reconnect', async () => {
    const before = await clientResources()
    const stopped = await startTestHub()
    await stopped.close()
    const client = createTidingsClient({
      url: stopped.url,
      initialDelayMs: 60_000,
      maxDelayMs: 600_000,
      jitter: 'decorrelated',
    })
    const recording = record(client)
    await waitFor(() => recording.schedules.length === 1, 'a scheduled reconnection')
    assert.ok(recording.schedules[0]!.delayMs >= 60_000)

    client.close()

    await assertNothingLeftBehind(before)
    assert.equal(client.state, 'closed')
  })
})

describe('client with EventSource', () => {
  let temp: ReturnType<typeof makeTempDir>

  before(() => {
    temp = makeTempDir()
  })
  after(() => temp.remove())

  it('eventsource: reconnects itself with path id and lastEventId', async () => {
    const storeUrl = `sqlite:${join(temp.dir, 'eventsource.db')}`
    const first = await startTestHub({ storeUrl, retryMs: 10 })
    const opened: string[] = []
    class RecordingEventSource extends EventSource {
      constructor(url: string, init?: { withCredentials?: boolean }) {
        opened.push(url)
        super(url, init)
      }
    }
    const client = createTidingsClient({
      url: first.url,
      transport: 'eventsource',
      EventSource: RecordingEventSource,
      ...FAST,
    })
    const recording = record(client)
    await waitForState(client, 'open')
    const published = await publish(first, 2)
    await waitFor(() => recording.events.length === 2, 'two events')
    const lastSeen = client.lastEventId

    await first.close()
    const second = await startTestHub({ storeUrl, port: first.port, retryMs: 10 })
    const connected: boolean[] = []
    second.service.on('connected', (info) => connected.push(info.resumed))
    try {
      published.push(...(await publish(second, 2)))
      await waitFor(() => recording.events.length >= 4, 'four events')
      await delay(30)

      assert.deepEqual(positionsOf(recording), published)
      assert.equal(opened[0], `${first.url}/api/v1/sse`)
      assert.equal(
        opened.at(-1),
        `${first.url}/api/v1/sse/${client.subscriptionId}?lastEventId=${lastSeen}`,
      )
      assert.deepEqual(connected, [true], 'one connection to the new hub, and it resumed')
      assert.ok(recording.errors.length >= 1)
    } finally {
      client.close()
      await second.close()
    }
  })

  it('eventsource: receives named events for typed handlers', async () => {
    const hub = await startTestHub({ namedEvents: true })
    const client = createTidingsClient<CaseEventMap>({
      url: hub.url,
      transport: 'eventsource',
      EventSource,
    })
    const created: string[] = []
    client.on('CASE_CREATED', (event) => created.push(event.caseId))
    try {
      await waitForState(client, 'open')
      const response = await postJson(`${hub.url}/api/v1/cases`, {})
      await waitFor(() => created.length === 1, 'a CASE_CREATED event')

      assert.deepEqual(created, [response.body.id])
    } finally {
      client.close()
      await hub.close()
    }
  })
})

/** What the test page keeps on its global object. */
interface PageGlobals {
  readonly location: { readonly origin: string }
  readonly client: TidingsClient
  readonly recording: { positions: number[]; errors: string[] }
}

describe('client in Chromium', () => {
  if (chromiumSkipReason && chromiumRequired) {
    it('finds Chromium', () => {
      assert.fail(`${chromiumSkipReason}; install it or unset TIDINGS_REQUIRE_SERVICES`)
    })
    return
  }
  const skip = chromiumSkipReason
  let temp: ReturnType<typeof makeTempDir>
  let session: ChromiumSession | undefined

  before(async () => {
    temp = makeTempDir()
    if (!skip) session = await launchChromium()
  })
  after(async () => {
    await session?.close()
    temp.remove()
  })

  /**
   * Opens a page on the hub's origin that can import the client as `/test-client/index.js`. The
   * browser fetches the modules from the hub's origin, and the test fulfills those requests with
   * the TypeScript sources compiled to JavaScript, so the hub itself is unchanged.
   */
  async function openClientPage(hub: TestHub): Promise<Page> {
    const page = await session!.context.newPage()
    await page.route(`${hub.url}/test-client/**`, async (route) => {
      const name = new URL(route.request().url()).pathname.slice('/test-client/'.length)
      if (name === 'index.html') {
        await route.fulfill({
          contentType: 'text/html',
          body: '<!doctype html><title>client</title>',
        })
        return
      }
      const source = await readFile(join(CLIENT_SOURCES, name.replace(/\.js$/, '.ts')), 'utf8')
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      })
      await route.fulfill({ contentType: 'text/javascript', body: outputText })
    })
    await page.goto(`${hub.url}/test-client/index.html`)
    return page
  }

  /** Starts a client in the page and records its events in the page's `recording` global. */
  async function startPageClient(page: Page, options: Record<string, unknown>): Promise<void> {
    await page.evaluate(async (options) => {
      const modulePath = '/test-client/index.js'
      const { createTidingsClient } = await import(modulePath)
      const origin = (globalThis as unknown as PageGlobals).location.origin
      const client = createTidingsClient({ url: origin, ...options })
      const recording = { positions: [] as number[], errors: [] as string[] }
      client.onEvent((_event: unknown, info: { position: number }) =>
        recording.positions.push(info.position),
      )
      client.onError((error: { kind: string }) => recording.errors.push(error.kind))
      Object.assign(globalThis, { client, recording })
    }, options)
  }

  function pagePositions(page: Page): Promise<number[]> {
    return page.evaluate(() => (globalThis as unknown as PageGlobals).recording.positions)
  }

  it('auto: uses EventSource and resumes after a hub restart', { skip }, async () => {
    const storeUrl = `sqlite:${join(temp.dir, 'browser.db')}`
    const first = await startTestHub({ storeUrl })
    const page = await openClientPage(first)
    const streams: { url: string; type: string }[] = []
    page.on('request', (request) => {
      if (request.url().includes('/api/v1/sse')) {
        streams.push({ url: request.url(), type: request.resourceType() })
      }
    })
    let second: TestHub | undefined
    try {
      await startPageClient(page, FAST)
      await page.waitForFunction(
        () => (globalThis as unknown as PageGlobals).client.state === 'open',
      )
      const published = await publish(first, 2)
      await page.waitForFunction(
        () => (globalThis as unknown as PageGlobals).recording.positions.length === 2,
      )
      const subscriptionId = await page.evaluate(
        () => (globalThis as unknown as PageGlobals).client.subscriptionId,
      )

      await first.close()
      second = await startTestHub({ storeUrl, port: first.port })
      published.push(...(await publish(second, 2)))
      await page.waitForFunction(
        () => (globalThis as unknown as PageGlobals).recording.positions.length >= 4,
      )
      await delay(30)

      assert.deepEqual(await pagePositions(page), published)
      const errors = await page.evaluate(
        () => (globalThis as unknown as PageGlobals).recording.errors,
      )
      assert.ok(errors.length >= 1 && errors.every((kind) => kind === 'network'), `${errors}`)
      assert.ok(streams.every((stream) => stream.type === 'eventsource'))
      assert.equal(streams[0]!.url, `${first.url}/api/v1/sse`)
      assert.equal(
        streams.at(-1)!.url,
        `${first.url}/api/v1/sse/${subscriptionId}?lastEventId=${subscriptionId}.${published[1]}`,
      )
    } finally {
      await page.evaluate(() => (globalThis as unknown as PageGlobals).client?.close())
      await page.close()
      await second?.close()
      await first.close()
    }
  })

  it('auto: uses fetch when headers are set', { skip }, async () => {
    const hub = await startTestHub()
    const page = await openClientPage(hub)
    const streams: { type: string; header: string | undefined }[] = []
    page.on('request', (request) => {
      if (request.url().includes('/api/v1/sse')) {
        streams.push({ type: request.resourceType(), header: request.headers()['x-tidings-test'] })
      }
    })
    try {
      await startPageClient(page, { ...FAST, headers: { 'x-tidings-test': 'yes' } })
      await page.waitForFunction(
        () => (globalThis as unknown as PageGlobals).client.state === 'open',
      )
      const published = await publish(hub, 3)
      await page.waitForFunction(
        () => (globalThis as unknown as PageGlobals).recording.positions.length === 3,
      )
      const disconnected = once(hub.service, 'disconnected')
      await page.evaluate(() => (globalThis as unknown as PageGlobals).client.close())
      await withTimeout(disconnected, 2_000, 'the hub to see the stream end')

      assert.deepEqual(await pagePositions(page), published)
      assert.deepEqual(streams, [{ type: 'fetch', header: 'yes' }])
    } finally {
      await page.close()
      await hub.close()
    }
  })
})
