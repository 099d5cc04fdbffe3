import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { MAX_EVENT_ID_BYTES } from '../constants.js'
import {
  eventIdPrefix,
  formatEventId,
  isUuid,
  parseEventId,
  parseSubscriptionId,
} from './event-id.js'

const SUBSCRIPTION_ID = '3f2b8c1e-9d4a-4e7b-8a6c-1f0e2d3c4b5a'
const anyCursor = fc.record(
  { subscriptionId: fc.uuid(), position: fc.maxSafeNat() },
  { noNullPrototype: true },
)

describe('formatEventId', () => {
  it('joins subscription id and position with a dot', () => {
    assert.equal(
      formatEventId({ subscriptionId: SUBSCRIPTION_ID, position: 42 }),
      `${SUBSCRIPTION_ID}.42`,
    )
  })

  it('starts with the subscription prefix', () => {
    const id = formatEventId({ subscriptionId: SUBSCRIPTION_ID, position: 7 })

    assert.equal(eventIdPrefix(SUBSCRIPTION_ID), `${SUBSCRIPTION_ID}.`)
    assert.ok(id.startsWith(eventIdPrefix(SUBSCRIPTION_ID)))
  })

  it('formats short ASCII ids without colons', () => {
    fc.assert(
      fc.property(anyCursor, (cursor) => {
        const id = formatEventId(cursor)

        assert.match(id, /^[\x20-\x7e]+$/)
        assert.ok(Buffer.byteLength(id, 'utf8') <= MAX_EVENT_ID_BYTES)
        assert.equal(id.includes(':'), false)
      }),
      { numRuns: 300 },
    )
  })
})

describe('parseEventId', () => {
  it('returns the cursor a formatted id was made from', () => {
    fc.assert(
      fc.property(anyCursor, (cursor) => {
        assert.deepEqual(parseEventId(formatEventId(cursor)), cursor)
      }),
      { numRuns: 300 },
    )
  })

  it('accepts position 0', () => {
    assert.deepEqual(parseEventId(`${SUBSCRIPTION_ID}.0`), {
      subscriptionId: SUBSCRIPTION_ID,
      position: 0,
    })
  })

  it('accepts the largest safe integer position', () => {
    assert.deepEqual(parseEventId(`${SUBSCRIPTION_ID}.9007199254740991`), {
      subscriptionId: SUBSCRIPTION_ID,
      position: Number.MAX_SAFE_INTEGER,
    })
  })

  it('accepts an uppercase UUID and lowercases it', () => {
    assert.deepEqual(parseEventId(`${SUBSCRIPTION_ID.toUpperCase()}.5`), {
      subscriptionId: SUBSCRIPTION_ID,
      position: 5,
    })
  })

  for (const [name, value] of [
    ['an empty string', ''],
    ['a missing dot', `${SUBSCRIPTION_ID}5`],
    ['a missing position', `${SUBSCRIPTION_ID}.`],
    ['a missing subscription id', '.5'],
    ['a non-UUID prefix', 'not-a-uuid.5'],
    ['a UUID with a non-hex digit', '3f2b8c1e-9d4a-4e7b-8a6c-1f0e2d3c4b5g.5'],
    ['a UUID without dashes', '3f2b8c1e9d4a4e7b8a6c1f0e2d3c4b5a.5'],
    ['a negative position', `${SUBSCRIPTION_ID}.-1`],
    ['a fractional position', `${SUBSCRIPTION_ID}.1.5`],
    ['a leading-zero position', `${SUBSCRIPTION_ID}.01`],
    ['a position above the largest safe integer', `${SUBSCRIPTION_ID}.9007199254740992`],
    ['a 17-digit position', `${SUBSCRIPTION_ID}.10000000000000000`],
    ['an exponent position', `${SUBSCRIPTION_ID}.1e3`],
    ['extra text after the position', `${SUBSCRIPTION_ID}.5x`],
    ['a trailing newline', `${SUBSCRIPTION_ID}.5\n`],
    ['leading whitespace', ` ${SUBSCRIPTION_ID}.5`],
    ['a colon separator', `${SUBSCRIPTION_ID}:5`],
  ] as const) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseEventId(value), { code: 'ERR_INVALID_LAST_EVENT_ID' })
    })
  }
})

describe('parseSubscriptionId', () => {
  it('returns a lowercase UUID unchanged', () => {
    assert.equal(parseSubscriptionId(SUBSCRIPTION_ID), SUBSCRIPTION_ID)
  })

  it('lowercases an uppercase UUID', () => {
    assert.equal(parseSubscriptionId(SUBSCRIPTION_ID.toUpperCase()), SUBSCRIPTION_ID)
  })

  for (const [name, value] of [
    ['an empty string', ''],
    ['a word', 'not-a-uuid'],
    ['a UUID without dashes', '3f2b8c1e9d4a4e7b8a6c1f0e2d3c4b5a'],
    ['a UUID in braces', `{${SUBSCRIPTION_ID}}`],
    ['a UUID with a non-hex digit', '3f2b8c1e-9d4a-4e7b-8a6c-1f0e2d3c4b5g'],
    ['an event id', `${SUBSCRIPTION_ID}.5`],
    ['a UUID with surrounding whitespace', ` ${SUBSCRIPTION_ID} `],
  ] as const) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseSubscriptionId(value), { code: 'ERR_INVALID_SUBSCRIPTION_ID' })
    })
  }
})

describe('isUuid', () => {
  it('accepts a lowercase UUID', () => {
    assert.equal(isUuid(SUBSCRIPTION_ID), true)
  })

  it('rejects an uppercase UUID', () => {
    assert.equal(isUuid(SUBSCRIPTION_ID.toUpperCase()), false)
  })
})
