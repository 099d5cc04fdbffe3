import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { EventSource } from 'eventsource'
import { positionsOf, subscribe, openSse } from './helpers/sse-test-client.js'
import { postJson, startTestHub, type TestHub } from './helpers/test-hub.js'

describe('subscribe', () => {
  let hub: TestHub

  before(async () => {
    hub = await startTestHub()
  })
  after(() => hub.close())

  it('answers with the event-stream headers', async () => {
    const client = await openSse(`${hub.url}/api/v1/sse`)
    assert.equal(client.status, 200)
    assert.equal(client.headers['content-type'], 'text/event-stream; charset=utf-8')
    assert.equal(client.headers['cache-control'], 'no-cache, no-transform')
    assert.equal(client.headers['x-accel-buffering'], 'no')
    assert.equal(client.headers['content-encoding'], undefined)
    client.close()
  })

  it('starts with retry, then ESTABLISHED_CONNECTION with an id', async () => {
    const { client, subscriptionId } = await subscribe(`${hub.url}/api/v1/sse`)
    const head = client.raw()
    const position = Number(client.events[0]!.id!.split('.')[1])
    assert.equal(
      head,
      'retry: 3000\n\n' +
        `data: {"eventType":"ESTABLISHED_CONNECTION","subscriptionId":"${subscriptionId}","resumed":false,"reset":false}\n` +
        `id: ${subscriptionId}.${position}\n\n`,
    )
    assert.deepEqual(client.retries, [3000])
    assert.match(subscriptionId, /^[0-9a-f-]{36}$/)
    client.close()
  })

  it('delivers published events with the subscription id and position', async () => {
    const { client, subscriptionId } = await subscribe(`${hub.url}/api/v1/sse`)
    const published = await postJson(`${hub.url}/api/v1/events`, { eventType: 'PING', n: 1 })
    assert.equal(published.status, 202)
    const [, event] = await client.waitForEvents(2)
    assert.equal(event!.data, '{"eventType":"PING","n":1}')
    assert.equal(event!.id, `${subscriptionId}.${published.body.position}`)
    assert.equal(event!.event, undefined)
    client.close()
  })

  it('fires CASE_CREATED to an eventsource client when a case is created', async () => {
    const source = new EventSource(`${hub.url}/api/v1/sse`)
    const received: any[] = []
    const gotCase = new Promise<void>((resolve) => {
      source.onmessage = (message) => {
        received.push(JSON.parse(message.data))
        if (received.at(-1).eventType === 'CASE_CREATED') resolve()
      }
    })
    await new Promise<void>((resolve) => {
      source.onopen = () => resolve()
    })
    const created = await postJson(`${hub.url}/api/v1/cases`, { title: 'Permit request' })
    await gotCase
    source.close()
    assert.equal(received[0].eventType, 'ESTABLISHED_CONNECTION')
    assert.deepEqual(received[1], { eventType: 'CASE_CREATED', caseId: created.body.id })
  })

  it('serializes each event once, whatever the number of subscribers', async () => {
    const clients = await Promise.all(
      Array.from({ length: 50 }, () => subscribe(`${hub.url}/api/v1/sse`)),
    )
    let serializations = 0
    const event = {
      eventType: 'COUNTED',
      toJSON() {
        serializations++
        return { eventType: 'COUNTED', value: 7 }
      },
    }
    await hub.service.notifySubscribers(event)
    for (const { client } of clients) {
      const [, received] = await client.waitForEvents(2)
      assert.equal(received!.data, '{"eventType":"COUNTED","value":7}')
      client.close()
    }
    assert.equal(serializations, 1)
  })

  it('keeps event order for every subscriber', async () => {
    const clients = await Promise.all(
      Array.from({ length: 5 }, () => subscribe(`${hub.url}/api/v1/sse`)),
    )
    const published: number[] = []
    for (let i = 0; i < 200; i++) {
      published.push((await hub.service.notifySubscribers({ eventType: 'SEQ', i })).position)
    }
    for (const { client } of clients) {
      const events = await client.waitForEvents(201)
      assert.deepEqual(positionsOf(events), published)
      assert.deepEqual(
        events.slice(1).map((event) => event.json.i),
        published.map((_, i) => i),
      )
      client.close()
    }
  })
})

describe('subscribe options', () => {
  it('namedEvents: writes an event line with the event type', async () => {
    const hub = await startTestHub({ namedEvents: true })
    try {
      const { client } = await subscribe(`${hub.url}/api/v1/sse`)
      await hub.service.notifySubscribers({ eventType: 'CASE_CREATED', caseId: 'c1' })
      const [established, event] = await client.waitForEvents(2)
      assert.equal(established!.event, 'ESTABLISHED_CONNECTION')
      assert.equal(event!.event, 'CASE_CREATED')
      client.close()
    } finally {
      await hub.close()
    }
  })

  it('heartbeatIntervalMs: sends a comment line on an idle stream', async () => {
    const hub = await startTestHub({ heartbeatIntervalMs: 30 })
    try {
      const { client } = await subscribe(`${hub.url}/api/v1/sse`)
      await new Promise((resolve) => setTimeout(resolve, 120))
      assert.ok(client.comments.length >= 1, `comments: ${client.comments.length}`)
      assert.match(client.raw(), /\n\n:\n/)
      assert.equal(client.events.length, 1)
      client.close()
    } finally {
      await hub.close()
    }
  })

  it('retryMs: sets the retry field', async () => {
    const hub = await startTestHub({ retryMs: 250 })
    try {
      const { client } = await subscribe(`${hub.url}/api/v1/sse`)
      assert.deepEqual(client.retries, [250])
      assert.ok(client.raw().startsWith('retry: 250\n\n'))
      client.close()
    } finally {
      await hub.close()
    }
  })
})
