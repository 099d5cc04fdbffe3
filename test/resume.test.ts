import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { positionsOf, subscribe, type SseTestClient } from './helpers/sse-test-client.js'
import { postJson, startTestHub, type TestHub } from './helpers/test-hub.js'

async function publishMany(hub: TestHub, count: number, eventType = 'SEQ'): Promise<number[]> {
  const positions: number[] = []
  for (let i = 0; i < count; i++) {
    positions.push((await hub.service.notifySubscribers({ eventType, i })).position)
  }
  return positions
}

async function closeAndSettle(client: SseTestClient): Promise<void> {
  client.close()
  await client.ended
  // The hub records the close when the socket's close event has run.
  await new Promise((resolve) => setTimeout(resolve, 30))
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

describe('resume', () => {
  let hub: TestHub

  before(async () => {
    hub = await startTestHub({ uncleanResumeWindow: 5 })
  })
  after(() => hub.close())

  it('replays exactly the missed events by path id after a clean close', async () => {
    const first = await subscribe(`${hub.url}/api/v1/sse`)
    const [seen] = await publishMany(hub, 1)
    await first.client.waitForEvents(2)
    await closeAndSettle(first.client)

    const missed: string[] = []
    for (let i = 0; i < 3; i++) {
      missed.push((await postJson(`${hub.url}/api/v1/cases`, {})).body.id)
    }
    const second = await subscribe(`${hub.url}/api/v1/sse/${first.subscriptionId}`)
    const events = await second.client.waitForEvents(4)
    assert.equal(second.subscriptionId, first.subscriptionId)
    assert.equal(second.established.resumed, true)
    assert.equal(second.established.reset, false)
    assert.equal(events[0]!.id, `${first.subscriptionId}.${seen}`)
    assert.deepEqual(
      events.slice(1).map((event) => event.json),
      missed.map((caseId) => ({ eventType: 'CASE_CREATED', caseId })),
    )
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(second.client.events.length, 4)
    second.client.close()
  })

  it('replays from Last-Event-ID, which wins over the recorded position', async () => {
    const first = await subscribe(`${hub.url}/api/v1/sse`)
    const positions = await publishMany(hub, 6)
    const received = await first.client.waitForEvents(7)
    await closeAndSettle(first.client)

    const lastSeen = received[2]!.id!
    const second = await subscribe(`${hub.url}/api/v1/sse/${first.subscriptionId}`, {
      headers: { 'last-event-id': lastSeen },
    })
    const events = await second.client.waitForEvents(5)
    assert.equal(second.established.resumed, true)
    assert.deepEqual(positionsOf(events), positions.slice(2))
    second.client.close()
  })

  it('replays from the lastEventId query parameter', async () => {
    const first = await subscribe(`${hub.url}/api/v1/sse`)
    const positions = await publishMany(hub, 4)
    const received = await first.client.waitForEvents(5)
    await closeAndSettle(first.client)

    const lastSeen = encodeURIComponent(received[1]!.id!)
    const second = await subscribe(`${hub.url}/api/v1/sse?lastEventId=${lastSeen}`)
    const events = await second.client.waitForEvents(4)
    assert.equal(second.subscriptionId, first.subscriptionId)
    assert.deepEqual(positionsOf(events), positions.slice(1))
    second.client.close()
  })

  it('resumes from Last-Event-ID on the bare subscribe path', async () => {
    const first = await subscribe(`${hub.url}/api/v1/sse`)
    await publishMany(hub, 1)
    const received = await first.client.waitForEvents(2)
    await closeAndSettle(first.client)
    const positions = await publishMany(hub, 2)

    const second = await subscribe(`${hub.url}/api/v1/sse`, {
      headers: { 'last-event-id': received[1]!.id! },
    })
    const events = await second.client.waitForEvents(3)
    assert.equal(second.subscriptionId, first.subscriptionId)
    assert.deepEqual(positionsOf(events), positions)
    second.client.close()
  })

  it('opens a new subscription with reset for an unknown id', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000'
    const { client, subscriptionId, established } = await subscribe(
      `${hub.url}/api/v1/sse/${unknown}`,
    )
    assert.notEqual(subscriptionId, unknown)
    assert.equal(established.resumed, false)
    assert.equal(established.reset, true)
    client.close()
  })

  it('replays events published during the replay without gap or duplicate', async () => {
    const first = await subscribe(`${hub.url}/api/v1/sse`)
    await closeAndSettle(first.client)
    const missed = await publishMany(hub, 1_000)

    const second = await subscribe(`${hub.url}/api/v1/sse/${first.subscriptionId}`)
    const during = publishMany(hub, 300, 'DURING')
    const published = [...missed, ...(await during)]
    const events = await second.client.waitForEvents(1 + published.length, 10_000)
    assert.deepEqual(positionsOf(events), published)
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(second.client.events.length, 1 + published.length)
    second.client.close()
  })

  it('replays 1,000 missed events in order with no duplicate', async () => {
    const first = await subscribe(`${hub.url}/api/v1/sse`)
    await closeAndSettle(first.client)
    const missed = await publishMany(hub, 1_000)

    const second = await subscribe(`${hub.url}/api/v1/sse/${first.subscriptionId}`)
    const events = await second.client.waitForEvents(1_001, 10_000)
    const positions = positionsOf(events)
    assert.deepEqual(positions, missed)
    assert.equal(new Set(positions).size, 1_000)
    assert.deepEqual(
      events.slice(1).map((event) => event.json.i),
      range(0, 999),
    )
    second.client.close()
  })

  it('replays a window before the record when the old connection is still open', async () => {
    const first = await subscribe(`${hub.url}/api/v1/sse`)
    const positions = await publishMany(hub, 8)
    await first.client.waitForEvents(9)

    // The old stream stays open, as after a network failure the hub has not noticed yet.
    const second = await subscribe(`${hub.url}/api/v1/sse/${first.subscriptionId}`)
    const expected = positions.slice(8 - 5)
    const events = await second.client.waitForEvents(1 + expected.length)
    assert.equal(second.established.resumed, true)
    assert.deepEqual(positionsOf(events), expected)
    await first.client.ended
    second.client.close()
  })

  it('replays a window before the record after a connection reset', async () => {
    const first = await subscribe(`${hub.url}/api/v1/sse`)
    const positions = await publishMany(hub, 8)
    await first.client.waitForEvents(9)
    first.client.reset()
    await first.client.ended
    await new Promise((resolve) => setTimeout(resolve, 30))
    const record = await hub.service.store.getSubscription(first.subscriptionId)
    assert.equal(record?.connectionState, 'failed')
    assert.equal(record?.position, positions.at(-1))

    const second = await subscribe(`${hub.url}/api/v1/sse/${first.subscriptionId}`)
    const expected = positions.slice(8 - 5)
    const events = await second.client.waitForEvents(1 + expected.length)
    assert.deepEqual(positionsOf(events), expected)
    second.client.close()
  })
})

describe('resume limits', () => {
  it('retention: resets instead of a partial replay when missed events left the log', async () => {
    const hub = await startTestHub({ retentionMaxEvents: 10 })
    try {
      const first = await subscribe(`${hub.url}/api/v1/sse`)
      await closeAndSettle(first.client)
      await publishMany(hub, 25)
      const info = await hub.service.runMaintenance()
      assert.equal(info?.trimmedEvents, 15)

      const second = await subscribe(`${hub.url}/api/v1/sse/${first.subscriptionId}`)
      assert.equal(second.established.resumed, false)
      assert.equal(second.established.reset, true)
      assert.equal(second.subscriptionId, first.subscriptionId)
      const live = await hub.service.notifySubscribers({ eventType: 'AFTER' })
      const events = await second.client.waitForEvents(2)
      assert.deepEqual(positionsOf(events), [live.position])
      second.client.close()
    } finally {
      await hub.close()
    }
  })

  it('subscriptionTtlMs: resets a subscription unseen for longer than its time to live', async () => {
    let now = Date.now()
    const hub = await startTestHub({ subscriptionTtlMs: 60_000 })
    try {
      const first = await subscribe(`${hub.url}/api/v1/sse`)
      await closeAndSettle(first.client)
      const record = await hub.service.store.getSubscription(first.subscriptionId)
      now = record!.lastSeenAt - 61_000
      await hub.service.store.updateSubscriptions([{ id: first.subscriptionId, lastSeenAt: now }])

      const second = await subscribe(`${hub.url}/api/v1/sse/${first.subscriptionId}`)
      assert.equal(second.established.reset, true)
      assert.notEqual(second.subscriptionId, first.subscriptionId)
      second.client.close()
    } finally {
      await hub.close()
    }
  })

  it('resets when Last-Event-ID is beyond the newest event', async () => {
    const hub = await startTestHub()
    try {
      const first = await subscribe(`${hub.url}/api/v1/sse`)
      await closeAndSettle(first.client)
      const second = await subscribe(`${hub.url}/api/v1/sse`, {
        headers: { 'last-event-id': `${first.subscriptionId}.999` },
      })
      assert.equal(second.established.reset, true)
      assert.equal(second.established.resumed, false)
      second.client.close()
    } finally {
      await hub.close()
    }
  })
})
