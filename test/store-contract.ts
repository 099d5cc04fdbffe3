/**
 * Contract tests for `EventStore`, written once and run against every backend. A backend's test
 * file calls `describeStoreContract` with a factory that opens a fresh, empty store.
 * @module
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { afterEach, beforeEach, describe, it } from 'node:test'
import type {
  AppendNotice,
  EventStore,
  NewEvent,
  StoredEvent,
  SubscriptionRecord,
  SubscriptionUpdate,
} from '../src/store/event-store.js'

/** The clock a store under test reads, in milliseconds since the epoch. */
export interface StoreTestClock {
  readonly now: () => number
}

/** A clock that moves only when a test sets it. */
interface ManualClock extends StoreTestClock {
  set(ms: number): void
  advance(ms: number): void
}

/** Options of `describeStoreContract`. */
export interface StoreContractOptions {
  /** Reason to skip the whole suite, such as a database URL that is not set. */
  readonly skip?: string
}

const START_TIME = 1_700_000_000_000

/** Retention limits that remove nothing, so that a test can apply one limit at a time. */
const NO_AGE_LIMIT = 0
const NO_COUNT_LIMIT = Number.MAX_SAFE_INTEGER

/** How long a test waits for a notice or an error that a backend may deliver asynchronously. */
const DELIVERY_TIMEOUT_MS = 1_000

function createManualClock(start: number): ManualClock {
  let current = start
  return {
    now: () => current,
    set: (ms) => {
      current = ms
    },
    advance: (ms) => {
      current += ms
    },
  }
}

function newEvent(n: number): NewEvent {
  return {
    eventType: 'counter.incremented',
    json: JSON.stringify({ eventType: 'counter.incremented', n }),
  }
}

function positionsOf(events: readonly StoredEvent[]): number[] {
  return events.map((event) => event.position)
}

/** Returns `[from, from + 1, …, to]`. */
function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

/** Appends events numbered 1 to `count`, one after the other, advancing the clock 1 ms each. */
async function appendEvents(
  store: EventStore,
  clock: ManualClock,
  count: number,
): Promise<StoredEvent[]> {
  const stored: StoredEvent[] = []
  for (let n = 1; n <= count; n++) {
    stored.push(await store.append(newEvent(n)))
    clock.advance(1)
  }
  return stored
}

/** Appends one event at each of the given clock times. */
async function appendAt(
  store: EventStore,
  clock: ManualClock,
  times: readonly number[],
): Promise<StoredEvent[]> {
  const stored: StoredEvent[] = []
  for (const [i, time] of times.entries()) {
    clock.set(time)
    stored.push(await store.append(newEvent(i + 1)))
  }
  return stored
}

/** Resolves once `condition` holds, checking every millisecond, and rejects after the timeout. */
async function waitFor(condition: () => boolean, description: string): Promise<void> {
  const deadline = Date.now() + DELIVERY_TIMEOUT_MS
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${DELIVERY_TIMEOUT_MS} ms waiting for ${description}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

function newSubscription(overrides: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  return {
    id: randomUUID(),
    position: 3,
    startPosition: 1,
    connectionState: 'open',
    createdAt: START_TIME,
    lastSeenAt: START_TIME + 500,
    ...overrides,
  }
}

/**
 * Registers the contract tests of `EventStore` for one backend, in a suite named
 * `<name> store contract`.
 *
 * Each test opens a fresh store with `open` and closes it afterwards. The factory must return an
 * empty store that reads the given clock, which the tests move by hand.
 * @param name Backend name shown in test output, such as `memory`.
 * @param open Opens an empty store; pass `clock.now` as the store's `now` option.
 * @param options `skip` skips the whole suite with that reason.
 * @example
 * describeStoreContract('memory', (clock) => new MemoryStore({ now: clock.now }))
 */
export function describeStoreContract(
  name: string,
  open: (clock: StoreTestClock) => Promise<EventStore> | EventStore,
  options: StoreContractOptions = {},
): void {
  describe(`${name} store contract`, { skip: options.skip }, () => {
    let clock: ManualClock
    let store: EventStore

    beforeEach(async () => {
      clock = createManualClock(START_TIME)
      store = await open(clock)
    })

    afterEach(async () => {
      await store.close()
    })

    describe('append', () => {
      it('assigns positions 1, 2 and 3 in order', async () => {
        const [first, second, third] = await appendEvents(store, clock, 3)

        assert.equal(first?.position, 1)
        assert.equal(second?.position, 2)
        assert.equal(third?.position, 3)
      })

      it('returns the event with the clock time', async () => {
        clock.set(START_TIME + 42)
        const stored = await store.append(newEvent(1))

        assert.deepEqual(stored, {
          position: 1,
          eventType: 'counter.incremented',
          json: '{"eventType":"counter.incremented","n":1}',
          createdAt: START_TIME + 42,
        })
      })

      it('keeps the append time when read later', async () => {
        clock.set(START_TIME + 42)
        const stored = await store.append(newEvent(1))
        clock.advance(60_000)
        const read = await store.readAfter(0, 10)

        assert.deepEqual(read, [stored])
      })
    })

    describe('readAfter', () => {
      it('returns events oldest first', async () => {
        const appended = await appendEvents(store, clock, 5)
        const read = await store.readAfter(0, 10)

        assert.deepEqual(read, appended)
      })

      it('returns at most limit events after the position', async () => {
        await appendEvents(store, clock, 5)
        const read = await store.readAfter(1, 2)

        assert.deepEqual(positionsOf(read), [2, 3])
      })

      it('returns fewer events when the head is near', async () => {
        await appendEvents(store, clock, 5)
        const read = await store.readAfter(3, 10)

        assert.deepEqual(positionsOf(read), [4, 5])
      })

      it('returns no events at or beyond the head', async () => {
        await appendEvents(store, clock, 5)

        assert.deepEqual(await store.readAfter(5, 10), [])
        assert.deepEqual(await store.readAfter(6, 10), [])
        assert.deepEqual(await store.readAfter(1_000, 10), [])
      })

      it('returns no events from an empty store', async () => {
        assert.deepEqual(await store.readAfter(0, 10), [])
      })

      it('returns the first retained event below trimmedThrough', async () => {
        await appendEvents(store, clock, 10)
        await store.trim({ appendedBefore: NO_AGE_LIMIT, maxEvents: 3 })

        assert.deepEqual(positionsOf(await store.readAfter(0, 1)), [8])
        assert.deepEqual(positionsOf(await store.readAfter(3, 2)), [8, 9])
        assert.deepEqual(positionsOf(await store.readAfter(7, 10)), [8, 9, 10])
      })
    })

    describe('bounds', () => {
      it('is zero for an empty store', async () => {
        assert.deepEqual(await store.bounds(), { trimmedThrough: 0, head: 0 })
      })

      it('moves the head with each append', async () => {
        await store.append(newEvent(1))
        assert.deepEqual(await store.bounds(), { trimmedThrough: 0, head: 1 })

        await store.append(newEvent(2))
        assert.deepEqual(await store.bounds(), { trimmedThrough: 0, head: 2 })
      })
    })

    describe('trim', () => {
      it('maxEvents: keeps exactly the newest events', async () => {
        await appendEvents(store, clock, 10)
        const removed = await store.trim({ appendedBefore: NO_AGE_LIMIT, maxEvents: 3 })

        assert.equal(removed, 7)
        assert.deepEqual(positionsOf(await store.readAfter(0, 100)), [8, 9, 10])
        assert.deepEqual(await store.bounds(), { trimmedThrough: 7, head: 10 })
      })

      it('maxEvents: keeps a log within the limit', async () => {
        await appendEvents(store, clock, 3)
        const removed = await store.trim({ appendedBefore: NO_AGE_LIMIT, maxEvents: 3 })

        assert.equal(removed, 0)
        assert.deepEqual(await store.bounds(), { trimmedThrough: 0, head: 3 })
      })

      it('appendedBefore: removes exactly the older events', async () => {
        const times = [START_TIME, START_TIME + 1_000, START_TIME + 2_000, START_TIME + 3_000]
        await appendAt(store, clock, times)
        const removed = await store.trim({
          appendedBefore: START_TIME + 2_000,
          maxEvents: NO_COUNT_LIMIT,
        })

        assert.equal(removed, 2)
        assert.deepEqual(positionsOf(await store.readAfter(0, 100)), [3, 4])
        assert.deepEqual(await store.bounds(), { trimmedThrough: 2, head: 4 })
      })

      it('appendedBefore: removes every event when all are older', async () => {
        await appendAt(store, clock, [START_TIME, START_TIME + 1_000])
        const removed = await store.trim({
          appendedBefore: START_TIME + 5_000,
          maxEvents: NO_COUNT_LIMIT,
        })

        assert.equal(removed, 2)
        assert.deepEqual(await store.readAfter(0, 100), [])
        assert.deepEqual(await store.bounds(), { trimmedThrough: 2, head: 2 })
      })

      it('applies the stricter of both limits', async () => {
        const times = [START_TIME, START_TIME + 1_000, START_TIME + 2_000, START_TIME + 3_000]
        await appendAt(store, clock, times)

        const byAge = await store.trim({ appendedBefore: START_TIME + 1_000, maxEvents: 3 })
        assert.equal(byAge, 1)
        assert.deepEqual(await store.bounds(), { trimmedThrough: 1, head: 4 })

        const byCount = await store.trim({ appendedBefore: START_TIME + 2_000, maxEvents: 1 })
        assert.equal(byCount, 2)
        assert.deepEqual(await store.bounds(), { trimmedThrough: 3, head: 4 })
      })

      it('removes nothing the second time', async () => {
        await appendEvents(store, clock, 10)
        const policy = { appendedBefore: NO_AGE_LIMIT, maxEvents: 4 }
        await store.trim(policy)
        const removed = await store.trim(policy)

        assert.equal(removed, 0)
        assert.deepEqual(positionsOf(await store.readAfter(0, 100)), [7, 8, 9, 10])
        assert.deepEqual(await store.bounds(), { trimmedThrough: 6, head: 10 })
      })

      it('never lowers trimmedThrough', async () => {
        await appendAt(
          store,
          clock,
          range(1, 10).map((n) => START_TIME + n * 1_000),
        )
        await store.trim({ appendedBefore: NO_AGE_LIMIT, maxEvents: 2 })

        const looserCount = await store.trim({ appendedBefore: NO_AGE_LIMIT, maxEvents: 5 })
        assert.equal(looserCount, 0)
        assert.deepEqual(await store.bounds(), { trimmedThrough: 8, head: 10 })

        const olderCutoff = await store.trim({
          appendedBefore: START_TIME + 3_000,
          maxEvents: NO_COUNT_LIMIT,
        })
        assert.equal(olderCutoff, 0)
        assert.deepEqual(await store.bounds(), { trimmedThrough: 8, head: 10 })
      })

      it('removes nothing from an empty store', async () => {
        const removed = await store.trim({ appendedBefore: START_TIME + 1_000, maxEvents: 0 })

        assert.equal(removed, 0)
        assert.deepEqual(await store.bounds(), { trimmedThrough: 0, head: 0 })
      })

      it('leaves positions growing after a trim', async () => {
        await appendEvents(store, clock, 5)
        await store.trim({ appendedBefore: NO_AGE_LIMIT, maxEvents: 2 })
        const next = await store.append(newEvent(6))

        assert.equal(next.position, 6)
        assert.deepEqual(positionsOf(await store.readAfter(0, 100)), [4, 5, 6])
        assert.deepEqual(await store.bounds(), { trimmedThrough: 3, head: 6 })
      })

      it('leaves positions growing after removing every event', async () => {
        await appendEvents(store, clock, 5)
        const removed = await store.trim({ appendedBefore: NO_AGE_LIMIT, maxEvents: 0 })

        assert.equal(removed, 5)
        assert.deepEqual(await store.readAfter(0, 100), [])
        assert.deepEqual(await store.bounds(), { trimmedThrough: 5, head: 5 })

        const next = await store.append(newEvent(6))

        assert.equal(next.position, 6)
        assert.deepEqual(positionsOf(await store.readAfter(0, 100)), [6])
        assert.deepEqual(await store.bounds(), { trimmedThrough: 5, head: 6 })
      })
    })

    describe('watch', () => {
      it('notifies each append in order', async () => {
        const notices: AppendNotice[] = []
        store.watch((notice) => notices.push(notice))
        const [first, second] = await appendEvents(store, clock, 2)
        await waitFor(() => notices.length >= 2, 'two append notices')

        assert.deepEqual(notices, [
          { head: 1, event: first },
          { head: 2, event: second },
        ])
      })

      it('stops notifying after unregistering', async () => {
        const removedNotices: AppendNotice[] = []
        const keptNotices: AppendNotice[] = []
        const unwatch = store.watch((notice) => removedNotices.push(notice))
        store.watch((notice) => keptNotices.push(notice))
        await store.append(newEvent(1))
        await waitFor(() => removedNotices.length >= 1, 'the first append notice')

        unwatch()
        await store.append(newEvent(2))
        // Once the listener still registered hears of the second append, the removed one would
        // have heard of it too.
        await waitFor(() => keptNotices.length >= 2, 'the second append notice')

        assert.deepEqual(
          removedNotices.map((notice) => notice.head),
          [1],
        )
        assert.deepEqual(
          keptNotices.map((notice) => notice.head),
          [1, 2],
        )
      })

      it('notifies other listeners when one throws', async () => {
        const failure = new Error('listener failed')
        const uncaught: unknown[] = []
        const notices: AppendNotice[] = []
        // The store rethrows a listener's error from a microtask. Capturing it here keeps the test
        // runner from reporting it as a failure of this file.
        process.setUncaughtExceptionCaptureCallback((err) => uncaught.push(err))
        try {
          store.watch(() => {
            throw failure
          })
          store.watch((notice) => notices.push(notice))
          const stored = await store.append(newEvent(1))
          await waitFor(
            () => notices.length >= 1 && uncaught.length >= 1,
            'the append notice and the rethrown error',
          )

          assert.deepEqual(notices, [{ head: 1, event: stored }])
          assert.equal(uncaught.length, 1)
          assert.equal(uncaught[0], failure)
        } finally {
          process.setUncaughtExceptionCaptureCallback(null)
        }
      })
    })

    describe('subscriptions', () => {
      it('round-trips every field', async () => {
        const records = [
          newSubscription({ position: 0, connectionState: 'open' }),
          newSubscription({ position: 17, connectionState: 'closed', lastSeenAt: START_TIME + 9 }),
          newSubscription({ position: 2, connectionState: 'failed', createdAt: START_TIME - 5 }),
        ]
        for (const record of records) await store.createSubscription(record)

        for (const record of records) {
          assert.deepEqual(await store.getSubscription(record.id), record)
        }
      })

      it('returns undefined for an unknown id', async () => {
        await store.createSubscription(newSubscription())

        assert.equal(await store.getSubscription(randomUUID()), undefined)
      })

      it('updates only the given fields', async () => {
        const record = newSubscription({ position: 3, connectionState: 'open' })
        await store.createSubscription(record)

        await store.updateSubscriptions([{ id: record.id, lastSeenAt: START_TIME + 1_000 }])
        assert.deepEqual(await store.getSubscription(record.id), {
          ...record,
          lastSeenAt: START_TIME + 1_000,
        })

        await store.updateSubscriptions([
          { id: record.id, position: 9, lastSeenAt: START_TIME + 2_000 },
        ])
        assert.deepEqual(await store.getSubscription(record.id), {
          ...record,
          position: 9,
          lastSeenAt: START_TIME + 2_000,
        })

        await store.updateSubscriptions([
          { id: record.id, connectionState: 'failed', lastSeenAt: START_TIME + 3_000 },
        ])
        assert.deepEqual(await store.getSubscription(record.id), {
          ...record,
          position: 9,
          connectionState: 'failed',
          lastSeenAt: START_TIME + 3_000,
        })
      })

      // NOTE: this project compiles with `exactOptionalPropertyTypes`, so the cast is needed here,
      // but callers compiled without that option may pass `undefined` for a field they leave out.
      it('treats an undefined field as left out', async () => {
        const record = newSubscription({ position: 3, connectionState: 'open' })
        await store.createSubscription(record)
        const update = {
          id: record.id,
          position: undefined,
          connectionState: undefined,
          lastSeenAt: START_TIME + 1_000,
        } as unknown as SubscriptionUpdate

        await store.updateSubscriptions([update])

        assert.deepEqual(await store.getSubscription(record.id), {
          ...record,
          lastSeenAt: START_TIME + 1_000,
        })
      })

      it('applies a batch of updates', async () => {
        const first = newSubscription({ position: 1 })
        const second = newSubscription({ position: 2 })
        const untouched = newSubscription({ position: 3 })
        for (const record of [first, second, untouched]) await store.createSubscription(record)

        await store.updateSubscriptions([
          { id: first.id, position: 11, connectionState: 'closed', lastSeenAt: START_TIME + 1 },
          { id: second.id, position: 12, lastSeenAt: START_TIME + 2 },
        ])

        assert.deepEqual(await store.getSubscription(first.id), {
          ...first,
          position: 11,
          connectionState: 'closed',
          lastSeenAt: START_TIME + 1,
        })
        assert.deepEqual(await store.getSubscription(second.id), {
          ...second,
          position: 12,
          lastSeenAt: START_TIME + 2,
        })
        assert.deepEqual(await store.getSubscription(untouched.id), untouched)
      })

      it('ignores updates of unknown ids', async () => {
        const record = newSubscription()
        const unknownId = randomUUID()
        await store.createSubscription(record)

        await store.updateSubscriptions([
          { id: unknownId, position: 5, lastSeenAt: START_TIME + 1 },
          { id: record.id, position: 6, lastSeenAt: START_TIME + 2 },
        ])

        assert.equal(await store.getSubscription(unknownId), undefined)
        assert.deepEqual(await store.getSubscription(record.id), {
          ...record,
          position: 6,
          lastSeenAt: START_TIME + 2,
        })
      })

      it('accepts an empty batch of updates', async () => {
        const record = newSubscription()
        await store.createSubscription(record)

        await store.updateSubscriptions([])

        assert.deepEqual(await store.getSubscription(record.id), record)
      })

      it('expires only those seen before the cutoff', async () => {
        const cutoff = START_TIME + 1_000
        const older = newSubscription({ lastSeenAt: cutoff - 1 })
        const atCutoff = newSubscription({ lastSeenAt: cutoff })
        const newer = newSubscription({ lastSeenAt: cutoff + 1 })
        for (const record of [older, atCutoff, newer]) await store.createSubscription(record)

        const expired = await store.expireSubscriptions(cutoff)

        assert.equal(expired, 1)
        assert.equal(await store.getSubscription(older.id), undefined)
        assert.deepEqual(await store.getSubscription(atCutoff.id), atCutoff)
        assert.deepEqual(await store.getSubscription(newer.id), newer)
        assert.equal(await store.expireSubscriptions(cutoff), 0)
      })
    })

    describe('volume', () => {
      it('reads 1,000 events back in batches of 100', async () => {
        await appendEvents(store, clock, 1_000)

        const batchSizes: number[] = []
        const read: StoredEvent[] = []
        let after = 0
        // The bound on reads ends the loop even if a backend keeps returning the same batch.
        for (let reads = 0; reads < 20; reads++) {
          const batch = await store.readAfter(after, 100)
          if (batch.length === 0) break
          batchSizes.push(batch.length)
          read.push(...batch)
          after = batch.at(-1)!.position
        }

        assert.deepEqual(batchSizes, Array(10).fill(100))
        assert.deepEqual(positionsOf(read), range(1, 1_000))
        assert.deepEqual(
          read.map((event) => event.json),
          range(1, 1_000).map((n) => newEvent(n).json),
        )
      })
    })
  })
}
