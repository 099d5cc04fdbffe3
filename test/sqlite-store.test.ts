import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import Database from 'better-sqlite3'
import { SqliteStore } from '../src/store/sqlite-store.js'
import { describeStoreContract } from './store-contract.js'

const START_TIME = 1_700_000_000_000

/** An `appendedBefore` that removes no event, so that only `maxEvents` applies. */
const NO_AGE_LIMIT = 0

let folder: string
let fileCount = 0

before(() => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'tidings-'))
})

after(() => {
  fs.rmSync(folder, { recursive: true, force: true })
})

/** Returns a path in the temporary folder that no other test uses. */
function freshPath(): string {
  fileCount++
  return path.join(folder, `store-${fileCount}.db`)
}

function newEvent(n: number) {
  return {
    eventType: 'counter.incremented',
    json: JSON.stringify({ eventType: 'counter.incremented', n }),
  }
}

describeStoreContract('SQLite', (clock) => new SqliteStore({ path: freshPath(), now: clock.now }))

describe('SqliteStore', () => {
  const clock = { now: () => START_TIME }

  it('keeps events, subscriptions and trimmedThrough after reopening', async () => {
    const file = freshPath()
    const record = {
      id: randomUUID(),
      position: 4,
      startPosition: 2,
      connectionState: 'closed' as const,
      createdAt: START_TIME - 10,
      lastSeenAt: START_TIME,
    }

    const first = new SqliteStore({ path: file, now: clock.now })
    for (let n = 1; n <= 5; n++) await first.append(newEvent(n))
    await first.trim({ appendedBefore: NO_AGE_LIMIT, maxEvents: 3 })
    await first.createSubscription(record)
    const retained = await first.readAfter(0, 100)
    await first.close()

    const reopened = new SqliteStore({ path: file, now: clock.now })
    try {
      assert.deepEqual(await reopened.bounds(), { trimmedThrough: 2, head: 5 })
      assert.deepEqual(await reopened.readAfter(0, 100), retained)
      assert.deepEqual(await reopened.getSubscription(record.id), record)
      assert.equal((await reopened.append(newEvent(6))).position, 6)
    } finally {
      await reopened.close()
    }
  })

  it('continues positions after reopening a trimmed log', async () => {
    const file = freshPath()

    const first = new SqliteStore({ path: file, now: clock.now })
    for (let n = 1; n <= 4; n++) await first.append(newEvent(n))
    await first.trim({ appendedBefore: NO_AGE_LIMIT, maxEvents: 0 })
    await first.close()

    const reopened = new SqliteStore({ path: file, now: clock.now })
    try {
      assert.deepEqual(await reopened.bounds(), { trimmedThrough: 4, head: 4 })
      assert.equal((await reopened.append(newEvent(5))).position, 5)
      assert.deepEqual(await reopened.bounds(), { trimmedThrough: 4, head: 5 })
    } finally {
      await reopened.close()
    }
  })

  it('rejects a second store on an open file', async () => {
    const file = freshPath()
    const first = new SqliteStore({ path: file, now: clock.now })
    try {
      assert.throws(() => new SqliteStore({ path: file, now: clock.now }), {
        code: 'ERR_STORE_UNAVAILABLE',
      })
      assert.equal((await first.append(newEvent(1))).position, 1)
    } finally {
      await first.close()
    }

    const next = new SqliteStore({ path: file, now: clock.now })
    try {
      assert.equal((await next.append(newEvent(2))).position, 2)
    } finally {
      await next.close()
    }
  })

  it('creates a missing parent folder', async () => {
    const file = path.join(folder, 'missing', 'nested', 'store.db')
    const store = new SqliteStore({ path: file, now: clock.now })
    await store.close()

    assert.equal(fs.statSync(file).isFile(), true)
  })

  it('stores the file in WAL journal mode', async () => {
    const file = freshPath()
    const store = new SqliteStore({ path: file, now: clock.now })
    await store.append(newEvent(1))
    await store.close()

    const db = new Database(file)
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal')
    } finally {
      db.close()
    }
  })
})
