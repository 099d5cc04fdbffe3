import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startHubProcess } from './helpers/hub-process.js'
import { positionsOf, subscribe } from './helpers/sse-test-client.js'
import { makeTempDir, postJson, startTestHub } from './helpers/test-hub.js'

describe('restart on SQLite', () => {
  let temp: ReturnType<typeof makeTempDir>

  before(() => {
    temp = makeTempDir()
  })
  after(() => temp.remove())

  it('loses nothing across a graceful restart', async () => {
    const storeUrl = `sqlite:${join(temp.dir, 'graceful.db')}`
    const first = await startTestHub({ storeUrl })
    const stream = await subscribe(`${first.url}/api/v1/sse`)
    const before: number[] = []
    for (let i = 0; i < 5; i++) {
      before.push(
        (await postJson(`${first.url}/api/v1/events`, { eventType: 'BEFORE', i })).body.position,
      )
    }
    await stream.client.waitForEvents(6)
    await first.close()
    await stream.client.ended

    const second = await startTestHub({ storeUrl })
    try {
      const missed: number[] = []
      for (let i = 0; i < 3; i++) {
        missed.push(
          (await postJson(`${second.url}/api/v1/events`, { eventType: 'AFTER', i })).body.position,
        )
      }
      assert.deepEqual(missed, [6, 7, 8])

      // By path id: the shutdown ended the stream cleanly, so the resume is exact.
      const byPath = await subscribe(`${second.url}/api/v1/sse/${stream.subscriptionId}`)
      assert.equal(byPath.established.resumed, true)
      assert.deepEqual(positionsOf(await byPath.client.waitForEvents(4)), missed)
      byPath.client.close()

      // By Last-Event-ID: exact from the id the browser last saw.
      const lastSeen = stream.client.events.at(-1)!.id!
      const byId = await subscribe(`${second.url}/api/v1/sse`, {
        headers: { 'last-event-id': lastSeen },
      })
      assert.deepEqual(positionsOf(await byId.client.waitForEvents(4)), missed)
      byId.client.close()
    } finally {
      await second.close()
    }
  })

  it('loses nothing when the hub is killed mid-stream', async () => {
    const storeUrl = `sqlite:${join(temp.dir, 'killed.db')}`
    const args = ['serve', '--port', '0', '--store', storeUrl, '--unclean-resume-window', '10']
    const first = await startHubProcess(args)
    const stream = await subscribe(`${first.url}/api/v1/sse`)
    const published: number[] = []
    for (let i = 0; i < 50; i++) {
      published.push(
        (await postJson(`${first.url}/api/v1/events`, { eventType: 'SEQ', i })).body.position,
      )
    }
    await stream.client.waitForEvents(51)
    first.child.kill('SIGKILL')
    await first.exited

    const second = await startHubProcess(args)
    try {
      for (let i = 50; i < 60; i++) {
        published.push(
          (await postJson(`${second.url}/api/v1/events`, { eventType: 'SEQ', i })).body.position,
        )
      }
      // The killed hub never recorded a clean close, so a resume by path id replays a window
      // before its last recorded position: duplicates are allowed, a gap is not.
      const resumed = await subscribe(`${second.url}/api/v1/sse/${stream.subscriptionId}`)
      assert.equal(resumed.established.resumed, true)
      const seen = new Set(positionsOf(stream.client.events))
      const deadline = Date.now() + 5_000
      while (
        positionsOf(resumed.client.events).at(-1) !== published.at(-1) &&
        Date.now() < deadline
      ) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      const replayed = positionsOf(resumed.client.events)
      for (const position of replayed) seen.add(position)
      assert.deepEqual(
        [...seen].sort((a, b) => a - b),
        published,
      )
      assert.deepEqual(
        replayed,
        [...replayed].sort((a, b) => a - b),
      )
      assert.equal(replayed.at(-1), published.at(-1))
      resumed.client.close()
    } finally {
      second.child.kill('SIGTERM')
      await second.exited
    }
  })
})
