import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { ConnectionState, SubscriptionRecord } from '../store/event-store.js'
import { planResume, requestedSubscriptionId, type ResumeContext } from './resume-plan.js'

const PATH_ID = '11111111-1111-4111-8111-111111111111'
const OTHER_ID = '22222222-2222-4222-8222-222222222222'

function record(
  position: number,
  connectionState: ConnectionState,
  id = PATH_ID,
): SubscriptionRecord {
  return { id, position, startPosition: 0, connectionState, createdAt: 1_000, lastSeenAt: 2_000 }
}

/** Builds a context: positions 51 to 500 retained, a closed record at 400, a window of 100. */
function context(overrides: Partial<ResumeContext> = {}): ResumeContext {
  return {
    record: record(400, 'closed'),
    openConnectionPosition: undefined,
    bounds: { trimmedThrough: 50, head: 500 },
    uncleanResumeWindow: 100,
    ...overrides,
  }
}

describe('requestedSubscriptionId', () => {
  it('prefers the Last-Event-ID subscription over the path id', () => {
    const request = {
      subscriptionId: PATH_ID,
      lastEventId: { subscriptionId: OTHER_ID, position: 3 },
    }

    assert.equal(requestedSubscriptionId(request), OTHER_ID)
  })

  it('falls back to the path id', () => {
    assert.equal(requestedSubscriptionId({ subscriptionId: PATH_ID }), PATH_ID)
  })
})

describe('planResume', () => {
  it('starts a new subscription when no id is requested', () => {
    assert.deepEqual(planResume({}, context()), { kind: 'new' })
  })

  it('resets with subscription-not-found for an unknown path id', () => {
    assert.deepEqual(planResume({ subscriptionId: PATH_ID }, context({ record: undefined })), {
      kind: 'reset',
      reason: 'subscription-not-found',
    })
  })

  it('resets with subscription-not-found for an unknown Last-Event-ID', () => {
    const request = { lastEventId: { subscriptionId: PATH_ID, position: 450 } }

    assert.deepEqual(planResume(request, context({ record: undefined })), {
      kind: 'reset',
      reason: 'subscription-not-found',
    })
  })

  describe('Last-Event-ID', () => {
    it('names the subscription over the path id', () => {
      const request = {
        subscriptionId: PATH_ID,
        lastEventId: { subscriptionId: OTHER_ID, position: 450 },
      }
      const otherRecord = context({ record: record(400, 'closed', OTHER_ID) })

      assert.deepEqual(planResume(request, otherRecord), {
        kind: 'resume',
        subscriptionId: OTHER_ID,
        fromPosition: 450,
      })
    })

    it('sets the position over the record', () => {
      const request = { lastEventId: { subscriptionId: PATH_ID, position: 300 } }

      assert.deepEqual(planResume(request, context({ record: record(400, 'closed') })), {
        kind: 'resume',
        subscriptionId: PATH_ID,
        fromPosition: 300,
      })
    })

    it('resumes exactly after a failed connection', () => {
      const request = { lastEventId: { subscriptionId: PATH_ID, position: 300 } }

      assert.deepEqual(planResume(request, context({ record: record(400, 'failed') })), {
        kind: 'resume',
        subscriptionId: PATH_ID,
        fromPosition: 300,
      })
    })

    it('resumes exactly while a connection is open', () => {
      const request = { lastEventId: { subscriptionId: PATH_ID, position: 300 } }
      const openContext = context({ record: record(400, 'open'), openConnectionPosition: 420 })

      assert.deepEqual(planResume(request, openContext), {
        kind: 'resume',
        subscriptionId: PATH_ID,
        fromPosition: 300,
      })
    })
  })

  describe('path id', () => {
    it('resumes at the record position after a clean close', () => {
      assert.deepEqual(planResume({ subscriptionId: PATH_ID }, context()), {
        kind: 'resume',
        subscriptionId: PATH_ID,
        fromPosition: 400,
      })
    })

    it('resumes one window early after a failed connection', () => {
      const failed = context({ record: record(400, 'failed') })

      assert.deepEqual(planResume({ subscriptionId: PATH_ID }, failed), {
        kind: 'resume',
        subscriptionId: PATH_ID,
        fromPosition: 300,
      })
    })

    it('resumes one window early while the record is open', () => {
      const open = context({ record: record(400, 'open') })

      assert.deepEqual(planResume({ subscriptionId: PATH_ID }, open), {
        kind: 'resume',
        subscriptionId: PATH_ID,
        fromPosition: 300,
      })
    })

    it('resumes one window before an open connection position', () => {
      const open = context({ record: record(400, 'closed'), openConnectionPosition: 450 })

      assert.deepEqual(planResume({ subscriptionId: PATH_ID }, open), {
        kind: 'resume',
        subscriptionId: PATH_ID,
        fromPosition: 350,
      })
    })

    it('clamps the window to the trimmed position', () => {
      const failed = context({ record: record(120, 'failed') })

      assert.deepEqual(planResume({ subscriptionId: PATH_ID }, failed), {
        kind: 'resume',
        subscriptionId: PATH_ID,
        fromPosition: 50,
      })
    })

    it('clamps the window to position 0 in an untrimmed log', () => {
      const failed = context({
        record: record(30, 'failed'),
        bounds: { trimmedThrough: 0, head: 500 },
      })

      assert.deepEqual(planResume({ subscriptionId: PATH_ID }, failed), {
        kind: 'resume',
        subscriptionId: PATH_ID,
        fromPosition: 0,
      })
    })
  })

  describe('log bounds', () => {
    it('resets with events-trimmed below the trimmed position', () => {
      const request = { lastEventId: { subscriptionId: PATH_ID, position: 49 } }

      assert.deepEqual(planResume(request, context()), {
        kind: 'reset',
        reason: 'events-trimmed',
        subscriptionId: PATH_ID,
      })
    })

    it('resets when a failed record is trimmed', () => {
      const failed = context({ record: record(49, 'failed') })

      assert.deepEqual(planResume({ subscriptionId: PATH_ID }, failed), {
        kind: 'reset',
        reason: 'events-trimmed',
        subscriptionId: PATH_ID,
      })
    })

    it('resumes at exactly the trimmed position', () => {
      const request = { lastEventId: { subscriptionId: PATH_ID, position: 50 } }

      assert.deepEqual(planResume(request, context()), {
        kind: 'resume',
        subscriptionId: PATH_ID,
        fromPosition: 50,
      })
    })

    it('resumes at exactly the head', () => {
      const request = { lastEventId: { subscriptionId: PATH_ID, position: 500 } }

      assert.deepEqual(planResume(request, context()), {
        kind: 'resume',
        subscriptionId: PATH_ID,
        fromPosition: 500,
      })
    })

    it('resets with position-ahead beyond the head', () => {
      const request = { lastEventId: { subscriptionId: PATH_ID, position: 501 } }

      assert.deepEqual(planResume(request, context()), {
        kind: 'reset',
        reason: 'position-ahead',
        subscriptionId: PATH_ID,
      })
    })

    it('resets when the record is ahead', () => {
      const ahead = context({ record: record(501, 'closed') })

      assert.deepEqual(planResume({ subscriptionId: PATH_ID }, ahead), {
        kind: 'reset',
        reason: 'position-ahead',
        subscriptionId: PATH_ID,
      })
    })
  })
})
