import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_EVENT_TYPE_LENGTH } from '../constants.js'
import { BaseSseEvent, EstablishedConnectionEvent, serializeEvent } from './base-sse-event.js'

class CaseCreatedEvent extends BaseSseEvent {
  readonly caseId: string
  readonly title: string

  constructor(caseId: string, title: string) {
    super('CASE_CREATED')
    this.caseId = caseId
    this.title = title
  }
}

/** True when A and B are the same type, not only assignable to each other. */
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false

// Compile-time checks, verified by `tsc --noEmit`. The function is never called.
function typeChecks(event: CaseCreatedEvent): void {
  const eventTypeIsString: Equal<typeof event.eventType, string> = true
  const baseEventTypeIsString: Equal<BaseSseEvent['eventType'], string> = true
  void [eventTypeIsString, baseEventTypeIsString, new BaseSseEvent('X').eventType satisfies string]

  // @ts-expect-error caseId is readonly
  event.caseId = 'c-2'
  // @ts-expect-error eventType is readonly
  event.eventType = 'CASE_DELETED'
}
void typeChecks

describe('BaseSseEvent', () => {
  it('serializes a subclass with eventType first', () => {
    const { eventType, json } = serializeEvent(new CaseCreatedEvent('c-1', 'Permit'))

    assert.equal(eventType, 'CASE_CREATED')
    assert.equal(json, '{"eventType":"CASE_CREATED","caseId":"c-1","title":"Permit"}')
  })

  it('rejects an invalid event type in the constructor', () => {
    assert.throws(() => new BaseSseEvent('CASE CREATED'), { code: 'ERR_INVALID_EVENT' })
  })

  it('accepts letters, digits and _ . : / -', () => {
    assert.equal(new BaseSseEvent('case.v2:created/A_b-9').eventType, 'case.v2:created/A_b-9')
  })

  it('accepts an event type of the maximum length', () => {
    const eventType = 'A'.repeat(MAX_EVENT_TYPE_LENGTH)

    assert.equal(new BaseSseEvent(eventType).eventType, eventType)
  })
})

describe('EstablishedConnectionEvent', () => {
  it('serializes the subscription id and how the stream started', () => {
    const event = new EstablishedConnectionEvent(
      '3f2b8c1e-9d4a-4e7b-8a6c-1f0e2d3c4b5a',
      true,
      false,
    )

    assert.equal(
      serializeEvent(event).json,
      '{"eventType":"ESTABLISHED_CONNECTION","subscriptionId":"3f2b8c1e-9d4a-4e7b-8a6c-1f0e2d3c4b5a","resumed":true,"reset":false}',
    )
  })
})

describe('serializeEvent', () => {
  it('serializes a plain object', () => {
    assert.deepEqual(serializeEvent({ eventType: 'PING', n: 1 }), {
      eventType: 'PING',
      json: '{"eventType":"PING","n":1}',
    })
  })

  it('escapes U+2028 and U+2029 in a property', () => {
    const { json } = serializeEvent({ eventType: 'NOTE', text: 'a\u2028b\u2029c' })

    assert.equal(json, '{"eventType":"NOTE","text":"a\\u2028b\\u2029c"}')
  })

  it('returns JSON that parses back to the event', () => {
    const event = { eventType: 'NOTE', text: 'a\u2028b\u0085c', list: [1, null, 'x'] }

    assert.deepEqual(JSON.parse(serializeEvent(event).json), event)
  })

  for (const [name, value] of [
    ['a string', 'CASE_CREATED'],
    ['a number', 42],
    ['a boolean', true],
    ['undefined', undefined],
    ['null', null],
    ['an array', [{ eventType: 'CASE_CREATED' }]],
    ['a missing eventType', { caseId: 'c-1' }],
    ['a numeric eventType', { eventType: 7 }],
    ['a null eventType', { eventType: null }],
    ['an empty eventType', { eventType: '' }],
    ['a too-long eventType', { eventType: 'A'.repeat(MAX_EVENT_TYPE_LENGTH + 1) }],
    ['an eventType with CR', { eventType: 'CASE\rCREATED' }],
    ['an eventType with LF', { eventType: 'CASE\nCREATED' }],
    ['an eventType with a space', { eventType: 'CASE CREATED' }],
    ['an eventType with a non-ASCII letter', { eventType: 'CASE_ÉTÉ' }],
    ['an eventType with an emoji', { eventType: 'CASE_😀' }],
  ] as const) {
    it(`rejects ${name}`, () => {
      assert.throws(() => serializeEvent(value), { code: 'ERR_INVALID_EVENT' })
    })
  }

  it('rejects a cyclic object with the JSON error as cause', () => {
    const event: Record<string, unknown> = { eventType: 'LOOP' }
    event.self = event

    assert.throws(
      () => serializeEvent(event),
      (err: unknown) => {
        assert.equal((err as { code?: unknown }).code, 'ERR_INVALID_EVENT')
        assert.ok((err as Error).cause instanceof TypeError)
        return true
      },
    )
  })

  it('rejects a BigInt property with the JSON error as cause', () => {
    assert.throws(
      () => serializeEvent({ eventType: 'BIG', amount: 10n }),
      (err: unknown) => {
        assert.equal((err as { code?: unknown }).code, 'ERR_INVALID_EVENT')
        assert.ok((err as Error).cause instanceof TypeError)
        return true
      },
    )
  })

  it('rejects an event whose toJSON returns undefined', () => {
    assert.throws(() => serializeEvent({ eventType: 'GONE', toJSON: () => undefined }), {
      code: 'ERR_INVALID_EVENT',
    })
  })

  it('rejects an event whose toJSON returns a non-object', () => {
    assert.throws(() => serializeEvent({ eventType: 'TEXT', toJSON: () => 'text' }), {
      code: 'ERR_INVALID_EVENT',
    })
  })
})
