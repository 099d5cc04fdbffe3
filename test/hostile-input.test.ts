import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startHubProcess } from './helpers/hub-process.js'
import { positionsOf, subscribe } from './helpers/sse-test-client.js'
import { makeTempDir, postJson, startTestHub, type TestHub } from './helpers/test-hub.js'

const JSON_HEAD = 'Host: 127.0.0.1\r\nContent-Type: application/json\r\n'

/** Writes raw bytes on a new socket and returns what arrives before it closes or `waitMs` ends. */
function sendRaw(port: number, bytes: string | Buffer, waitMs = 500): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes))
    const finish = (): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(Buffer.concat(chunks).toString('latin1'))
    }
    const timer = setTimeout(finish, waitMs)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('close', finish)
    socket.on('error', finish)
  })
}

/** Polls `read` every 10 ms until it returns `expected` or `timeoutMs` ends. */
async function waitForValue<T>(read: () => T, expected: T, timeoutMs = 2_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let value = read()
  while (value !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    value = read()
  }
  return value
}

function subscribeRequest(path: string, headers = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n${headers}\r\n`
}

/** Formats a publish request with `Connection: close`, so the hub closes the socket after it. */
function publishRequest(body: string | Buffer): string | Buffer {
  const length = Buffer.byteLength(body)
  const head = `POST /api/v1/events HTTP/1.1\r\n${JSON_HEAD}Connection: close\r\nContent-Length: ${length}\r\n\r\n`
  return typeof body === 'string' ? head + body : Buffer.concat([Buffer.from(head), body])
}

describe('hostile input: stream framing', () => {
  let hub: TestHub

  before(async () => {
    hub = await startTestHub()
  })
  after(() => hub.close())

  it('escapes line breaks in data lines', async () => {
    const values = [
      'x\r\nid: forged\r\n\r\ndata: forged',
      'a\u2028b\u2029c',
      'a\u0085b',
      'a\u0000b',
      '\ud800',
      '\udc00x',
      'event: FORGED\n\n',
    ]
    const stream = await subscribe(`${hub.url}/api/v1/sse`)
    for (const value of values) {
      const published = await postJson(`${hub.url}/api/v1/events`, { eventType: 'ODD', value })
      assert.equal(published.status, 202)
    }
    const events = (await stream.client.waitForEvents(1 + values.length)).slice(1)

    assert.deepEqual(
      events.map((event) => event.json?.value),
      values,
    )
    for (const event of events) assert.equal(event.event, undefined)
    assert.equal(stream.client.events.length, 1 + values.length)
    const body = stream.client.raw()
    assert.doesNotMatch(body, /[\r\u0085\u2028\u2029\0]/)
    assert.doesNotMatch(body, /\nid: forged/)
    stream.client.close()
  })

  it('appends nothing for rejected publishes', async () => {
    const stream = await subscribe(`${hub.url}/api/v1/sse`)
    const { head } = await hub.service.store.bounds()
    const rejected = [
      '{"eventType":"A\\r\\nevent: FORGED"}',
      '{"eventType":"B","eventType":"A\\nid: x"}',
      JSON.stringify({ eventType: 'A\u2028B' }),
      '{"eventType":"A"} trailing',
    ]
    for (const body of rejected) {
      const response = await sendRaw(hub.port, publishRequest(body))
      assert.match(response, /^HTTP\/1\.1 400 /, body.slice(0, 60))
    }
    const accepted = await postJson(`${hub.url}/api/v1/events`, { eventType: 'AFTER' })

    assert.equal(accepted.body.position, head + 1)
    const events = await stream.client.waitForEvents(2)
    assert.deepEqual(positionsOf(events), [head + 1])
    stream.client.close()
  })

  it('rejects invalid UTF-8 bodies', async () => {
    const { head: headBefore } = await hub.service.store.bounds()
    const body = Buffer.concat([
      Buffer.from('{"eventType":"BYTES","v":"caf'),
      Buffer.from([0xe9, 0xff]),
      Buffer.from('"}'),
    ])
    const response = await sendRaw(hub.port, publishRequest(body))

    assert.match(response, /^HTTP\/1\.1 400 /)
    assert.match(response, /"code":"ERR_INVALID_JSON"/)
    const { head: headAfter } = await hub.service.store.bounds()
    assert.equal(headAfter, headBefore)
  })

  it('answers a request pipelined after 413', async () => {
    const { head: headBefore } = await hub.service.store.bounds()
    const oversized = 'y'.repeat(70_000)
    const oversizedHead = `POST /api/v1/events HTTP/1.1\r\n${JSON_HEAD}Content-Length: ${oversized.length}\r\n\r\n`
    const oversizedRequest = oversizedHead + oversized
    const pipelined = publishRequest('{"eventType":"PIPELINED"}') as string
    const response = await sendRaw(hub.port, oversizedRequest + pipelined, 1_000)

    assert.match(response, /^HTTP\/1\.1 413 /)
    const { head: headAfter } = await hub.service.store.bounds()
    const applied = headAfter > headBefore
    const answered = /HTTP\/1\.1 202 /.test(response)
    assert.equal(applied, answered, `applied: ${applied}, answered: ${answered}`)
  })
})

describe('hostile input: connections', () => {
  it('counts 0 after 200 dropped streams', async () => {
    const hub = await startTestHub({ logLevel: 'info' })
    try {
      const drops = Array.from(
        { length: 200 },
        (_, i) =>
          new Promise<void>((resolve) => {
            const socket = connect(hub.port, '127.0.0.1', () => {
              socket.write(subscribeRequest('/api/v1/sse'))
            })
            socket.once('data', () => {
              if (i % 2 === 0) socket.resetAndDestroy()
              else socket.destroy()
              resolve()
            })
            socket.on('error', () => resolve())
          }),
      )
      await Promise.all(drops)

      assert.equal(await waitForValue(() => hub.service.connectionCount, 0), 0)
    } finally {
      await hub.close()
    }
  })

  it('counts 0 after pipelined subscriptions', async () => {
    const hub = await startTestHub({ logLevel: 'info' })
    try {
      const socket: Socket = connect(hub.port, '127.0.0.1', () => {
        socket.write(subscribeRequest('/api/v1/sse') + subscribeRequest('/api/v1/sse'))
      })
      socket.on('error', () => {})
      // The second request waits behind the first stream, which never ends, so it never runs.
      assert.equal(await waitForValue(() => hub.service.connectionCount, 1), 1)
      await new Promise((resolve) => setTimeout(resolve, 100))
      assert.equal(hub.service.connectionCount, 1)
      socket.destroy()

      assert.equal(await waitForValue(() => hub.service.connectionCount, 0), 0)
    } finally {
      await hub.close()
    }
  })

  it('survives a pipelined double resume', async () => {
    const hub = await startHubProcess(['serve', '--port', '0', '--store', 'memory:'])
    try {
      const first = await subscribe(`${hub.url}/api/v1/sse`)
      first.client.close()
      for (let i = 0; i < 5; i++) {
        await postJson(`${hub.url}/api/v1/events`, { eventType: 'MISSED', i })
      }
      const id = first.subscriptionId
      const resume = subscribeRequest(`/api/v1/sse/${id}`, `Last-Event-ID: ${id}.0\r\n`)
      await sendRaw(hub.port, resume + resume, 300)
      const exited = await Promise.race([
        hub.exited.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 200)),
      ])

      assert.equal(exited, false, hub.stderr())
      const health = await fetch(`${hub.url}/healthz`)
      assert.equal(health.status, 200)
    } finally {
      if (hub.child.exitCode === null) hub.child.kill('SIGTERM')
      await hub.exited
    }
  })
})

describe('hostile input: resume', () => {
  let temp: ReturnType<typeof makeTempDir>

  before(() => {
    temp = makeTempDir()
  })
  after(() => temp.remove())

  it('replays nothing from before creation', async () => {
    const hub = await startTestHub()
    try {
      for (let i = 0; i < 3; i++) await hub.service.notifySubscribers({ eventType: 'OLD', i })
      const first = await subscribe(`${hub.url}/api/v1/sse`)
      const startedAt = Number(first.client.events[0]!.id!.split('.')[1])
      first.client.reset()
      await first.client.ended
      await waitForValue(() => hub.service.connectionCount, 0)

      const resumed = await subscribe(`${hub.url}/api/v1/sse/${first.subscriptionId}`)
      await new Promise((resolve) => setTimeout(resolve, 100))

      assert.equal(resumed.established.resumed, true)
      assert.deepEqual(positionsOf(resumed.client.events), [])
      assert.equal(startedAt, 3)
      resumed.client.close()
    } finally {
      await hub.close()
    }
  })

  it('resumes a stream destroyed at shutdown', async () => {
    const storeUrl = `sqlite:${join(temp.dir, 'destroyed.db')}`
    const first = await startTestHub({ storeUrl, logLevel: 'info', shutdownGraceMs: 200 })
    const received: Buffer[] = []
    const stalled: Socket = connect(first.port, '127.0.0.1', () => {
      stalled.write(subscribeRequest('/api/v1/sse'))
    })
    stalled.on('data', (chunk: Buffer) => received.push(chunk))
    stalled.on('error', () => {})
    await waitForValue(() => first.service.connectionCount, 1)
    await new Promise((resolve) => setTimeout(resolve, 50))
    stalled.pause()
    const padding = 'q'.repeat(4_000)
    for (let i = 0; i < 3_000; i++) {
      await first.service.notifySubscribers({ eventType: 'FILL', i, padding })
      // Let the hub flush to the kernel, so that the socket buffers fill as on a real network.
      if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    await first.close()
    stalled.resume()
    await new Promise((resolve) => stalled.once('close', resolve))

    const text = Buffer.concat(received).toString('latin1')
    const ids = [...text.matchAll(/\nid: ([0-9a-f-]{36})\.(\d+)\n\n/g)]
    const subscriptionId = ids[0]![1]!
    const lastReceived = Number(ids.at(-1)![2])
    const second = await startTestHub({ storeUrl })
    try {
      const resumed = await subscribe(`${second.url}/api/v1/sse/${subscriptionId}`)
      const [, firstReplayed] = await resumed.client.waitForEvents(2)

      assert.ok(lastReceived < 3_000, `the client received every event: ${lastReceived}`)
      assert.ok(
        Number(firstReplayed!.id!.split('.')[1]) <= lastReceived + 1,
        `client has ${lastReceived}, replay starts at ${firstReplayed!.id}`,
      )
      resumed.client.close()
    } finally {
      await second.close()
    }
  })
})
