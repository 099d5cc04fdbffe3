import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EventCursorTracker, formatEventCursor, parseEventCursor } from './event-cursor.js'
import { buildSubscribeUrl } from './subscribe-url.js'

const SUBSCRIPTION = '5b0c2f4e-8a1d-4c3b-9e7f-0a1b2c3d4e5f'
const OTHER = '00000000-0000-4000-8000-000000000000'

describe('parseEventCursor', () => {
  it('reads the subscription id and position', () => {
    assert.deepEqual(parseEventCursor(`${SUBSCRIPTION}.42`), {
      subscriptionId: SUBSCRIPTION,
      position: 42,
    })
  })

  it('splits at the last dot', () => {
    assert.deepEqual(parseEventCursor('a.b.7'), { subscriptionId: 'a.b', position: 7 })
  })

  it('rejects ids that are not hub ids', () => {
    for (const id of ['', '42', `${SUBSCRIPTION}.`, `${SUBSCRIPTION}.-1`, `${SUBSCRIPTION}.01`]) {
      assert.equal(parseEventCursor(id), undefined, id)
    }
  })

  it('rejects positions beyond the safe integers', () => {
    assert.equal(parseEventCursor(`${SUBSCRIPTION}.9007199254740993`), undefined)
  })

  it('formats what it parses', () => {
    const id = `${SUBSCRIPTION}.9`
    assert.equal(formatEventCursor(parseEventCursor(id)!), id)
  })
})

describe('EventCursorTracker', () => {
  it('accepts growing positions and drops repeated ones', () => {
    const tracker = new EventCursorTracker()
    const verdicts = [1, 2, 2, 1, 3, 5, 4].map((position) =>
      tracker.accept(`${SUBSCRIPTION}.${position}`),
    )

    assert.deepEqual(verdicts, ['new', 'new', 'duplicate', 'duplicate', 'new', 'new', 'duplicate'])
    assert.deepEqual(tracker.cursor, { subscriptionId: SUBSCRIPTION, position: 5 })
  })

  it('starts from the cursor it is given', () => {
    const tracker = new EventCursorTracker({ subscriptionId: SUBSCRIPTION, position: 10 })

    assert.equal(tracker.accept(`${SUBSCRIPTION}.10`), 'duplicate')
    assert.equal(tracker.accept(`${SUBSCRIPTION}.11`), 'new')
  })

  it('accepts any position of another subscription', () => {
    const tracker = new EventCursorTracker({ subscriptionId: SUBSCRIPTION, position: 10 })

    assert.equal(tracker.accept(`${OTHER}.3`), 'new')
    assert.deepEqual(tracker.cursor, { subscriptionId: OTHER, position: 3 })
  })

  it('leaves ids that are not hub ids untracked', () => {
    const tracker = new EventCursorTracker({ subscriptionId: SUBSCRIPTION, position: 10 })

    assert.equal(tracker.accept('not-an-id'), 'untracked')
    assert.equal(tracker.accept(''), 'untracked')
    assert.deepEqual(tracker.cursor, { subscriptionId: SUBSCRIPTION, position: 10 })
  })

  it('rebase: moves the cursor back', () => {
    const tracker = new EventCursorTracker({ subscriptionId: SUBSCRIPTION, position: 10 })
    tracker.rebase({ subscriptionId: SUBSCRIPTION, position: 4 })

    assert.equal(tracker.accept(`${SUBSCRIPTION}.5`), 'new')
  })
})

describe('buildSubscribeUrl', () => {
  it('opens a new subscription without an id', () => {
    assert.equal(buildSubscribeUrl('http://hub', {}), 'http://hub/api/v1/sse')
  })

  it('resumes by path id alone without a cursor', () => {
    assert.equal(
      buildSubscribeUrl('/hub', { subscriptionId: SUBSCRIPTION }),
      `/hub/api/v1/sse/${SUBSCRIPTION}`,
    )
  })

  it('resumes by path id and lastEventId with a cursor', () => {
    const url = buildSubscribeUrl('http://hub', {
      subscriptionId: SUBSCRIPTION,
      cursor: { subscriptionId: SUBSCRIPTION, position: 7 },
    })

    assert.equal(url, `http://hub/api/v1/sse/${SUBSCRIPTION}?lastEventId=${SUBSCRIPTION}.7`)
  })

  it('encodes an id with reserved characters', () => {
    assert.equal(
      buildSubscribeUrl('http://hub', { subscriptionId: 'a/b?c' }),
      'http://hub/api/v1/sse/a%2Fb%3Fc',
    )
  })
})
