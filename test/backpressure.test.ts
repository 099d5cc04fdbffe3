import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { describe, it } from 'node:test'
import { positionsOf, subscribe } from './helpers/sse-test-client.js'
import { startTestHub, type TestHub } from './helpers/test-hub.js'

const EVENT_BYTES = 60 * 1024
const TOTAL_BYTES = 50 * 1024 * 1024

/** Opens a stream on a raw socket that sends its request and then never reads. */
function openStalledStream(hub: TestHub): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(hub.port, '127.0.0.1', () => {
      socket.write(
        `GET /api/v1/sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`,
      )
      socket.pause()
      resolve(socket)
    })
    socket.on('error', reject)
  })
}

/** Returns the hub's side of every accepted socket, to watch its user-space write buffer. */
function trackServerSockets(hub: TestHub): Socket[] {
  const sockets: Socket[] = []
  hub.server.on('connection', (socket: Socket) => sockets.push(socket))
  return sockets
}

describe('backpressure', () => {
  it('keeps memory flat for a subscriber that never reads while 50 MB flow', async () => {
    const hub = await startTestHub({ logLevel: 'info' })
    try {
      const serverSockets = trackServerSockets(hub)
      const stalled = await openStalledStream(hub)
      const reader = await subscribe(`${hub.url}/api/v1/sse`, { byteByByte: false })
      await new Promise((resolve) => setTimeout(resolve, 50))
      const padding = 'x'.repeat(EVENT_BYTES)
      const count = Math.ceil(TOTAL_BYTES / EVENT_BYTES)
      let maxBuffered = 0
      const published: number[] = []
      for (let i = 0; i < count; i++) {
        published.push(
          (await hub.service.notifySubscribers({ eventType: 'BULK', i, padding })).position,
        )
        if (i % 20 === 0) {
          // Let the reader drain, as a real network would between publishes.
          await new Promise((resolve) => setImmediate(resolve))
        }
        for (const socket of serverSockets)
          maxBuffered = Math.max(maxBuffered, socket.writableLength)
      }
      const events = await reader.client.waitForEvents(1 + count, 30_000)
      assert.deepEqual(positionsOf(events), published)

      // One socket buffer and one event at most, never the 50 MB the subscriber did not read.
      assert.ok(maxBuffered < 1024 * 1024, `largest user-space write buffer: ${maxBuffered} bytes`)

      // Once it reads again, the stalled subscriber catches up from the log, in order.
      const sequence: number[] = []
      let carry = ''
      stalled.setEncoding('utf8')
      const caughtUp = new Promise<void>((resolve) => {
        stalled.on('data', (chunk: string) => {
          // Keep only the unfinished tail, so that scanning stays linear in the bytes received.
          const text = carry + chunk
          const lastBreak = text.lastIndexOf('\n')
          for (const match of text.slice(0, lastBreak + 1).matchAll(/"i":(\d+),/g)) {
            sequence.push(Number(match[1]))
          }
          carry = text.slice(lastBreak + 1)
          if (sequence.at(-1) === count - 1) resolve()
        })
      })
      stalled.resume()
      await caughtUp
      assert.deepEqual(
        sequence,
        Array.from({ length: count }, (_, i) => i),
      )
      stalled.destroy()
      reader.client.close()
    } finally {
      await hub.close()
    }
  })

  it('slowSubscriberTimeoutMs: disconnects a subscriber whose buffer stays full', async () => {
    const hub = await startTestHub({ logLevel: 'info', slowSubscriberTimeoutMs: 100 })
    try {
      const stalled = await openStalledStream(hub)
      stalled.on('error', () => {})
      await new Promise((resolve) => setTimeout(resolve, 50))
      const padding = 'x'.repeat(EVENT_BYTES)
      for (let i = 0; i < 200; i++)
        await hub.service.notifySubscribers({ eventType: 'BULK', i, padding })
      const deadline = Date.now() + 5_000
      let line: Record<string, unknown> | undefined
      while (!line && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20))
        line = hub.logs.find((entry) => entry['msg'] === 'slow subscriber disconnected')
      }
      assert.equal(line?.['reason'], 'slow')
      assert.equal(line?.['state'], 'failed')
      assert.equal(hub.service.connectionCount, 0)
      stalled.destroy()
    } finally {
      await hub.close()
    }
  })
})
