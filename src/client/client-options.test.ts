import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidClientOptionError } from './client-errors.js'
import {
  CLIENT_DEFAULTS,
  resolveClientOptions,
  type TidingsClientOptions,
} from './client-options.js'
import type { EventSourceConstructor, EventSourceLike } from './eventsource-transport.js'

const SUBSCRIPTION = '5b0c2f4e-8a1d-4c3b-9e7f-0a1b2c3d4e5f'

/** An EventSource stand-in that is never opened: option resolution only checks that it exists. */
const FakeEventSource = class {
  readyState = 0
  addEventListener(): void {}
  close(): void {}
} as unknown as EventSourceConstructor & (new () => EventSourceLike)

function assertInvalid(options: unknown, pattern: RegExp): void {
  assert.throws(
    () => resolveClientOptions(options as TidingsClientOptions),
    (error: unknown) => {
      assert.ok(error instanceof InvalidClientOptionError)
      assert.ok(error instanceof RangeError)
      assert.equal(error.code, 'ERR_INVALID_OPTION')
      assert.match(error.message, pattern)
      return true
    },
  )
}

describe('resolveClientOptions', () => {
  it('applies the defaults', () => {
    const resolved = resolveClientOptions({ url: 'http://hub/' })

    assert.equal(resolved.baseUrl, 'http://hub')
    assert.equal(resolved.subscriptionId, undefined)
    assert.equal(resolved.cursor, undefined)
    assert.equal(resolved.withCredentials, false)
    assert.deepEqual(resolved.headers, {})
    assert.deepEqual(resolved.backoff, {
      initialDelayMs: CLIENT_DEFAULTS.initialDelayMs,
      maxDelayMs: CLIENT_DEFAULTS.maxDelayMs,
      jitter: 'full',
    })
    assert.equal(resolved.maxAttempts, Number.POSITIVE_INFINITY)
  })

  it('auto: uses fetch in Node 20, which has no EventSource', () => {
    assert.equal(resolveClientOptions({ url: 'http://hub' }).transport.kind, 'fetch')
  })

  it('auto: uses EventSource when there is one and no headers', () => {
    const resolved = resolveClientOptions({ url: 'http://hub', EventSource: FakeEventSource })

    assert.equal(resolved.transport.kind, 'eventsource')
  })

  it('auto: uses fetch when headers are set', () => {
    const resolved = resolveClientOptions({
      url: 'http://hub',
      EventSource: FakeEventSource,
      headers: { authorization: 'Bearer t' },
    })

    assert.equal(resolved.transport.kind, 'fetch')
  })

  it('takes the subscription id from lastEventId', () => {
    const resolved = resolveClientOptions({ url: 'http://hub', lastEventId: `${SUBSCRIPTION}.5` })

    assert.equal(resolved.subscriptionId, SUBSCRIPTION)
    assert.deepEqual(resolved.cursor, { subscriptionId: SUBSCRIPTION, position: 5 })
  })

  it('accepts undefined for every optional option', () => {
    const resolved = resolveClientOptions({
      url: 'http://hub',
      subscriptionId: undefined,
      lastEventId: undefined,
      initialDelayMs: undefined,
    })

    assert.equal(resolved.subscriptionId, undefined)
  })

  it('keeps maxDelayMs at least initialDelayMs by default', () => {
    const resolved = resolveClientOptions({ url: 'http://hub', initialDelayMs: 60_000 })

    assert.equal(resolved.backoff.maxDelayMs, 60_000)
  })

  it('rejects invalid values with the option name', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ url: '' }, /option url ""/],
      [{ url: 42 }, /option url 42/],
      [{ url: 'http://hub?x=1' }, /remove the query/],
      [{ url: '/hub' }, /expected an absolute http\(s\) URL/],
      [{ url: 'ftp://hub' }, /expected an http: or https: URL/],
      [{ url: 'http://hub', subscriptionId: '' }, /option subscriptionId ""/],
      [{ url: 'http://hub', lastEventId: 'nope' }, /option lastEventId "nope"/],
      [
        { url: 'http://hub', subscriptionId: 'other', lastEventId: `${SUBSCRIPTION}.1` },
        /another subscription/,
      ],
      [{ url: 'http://hub', initialDelayMs: 0 }, /option initialDelayMs 0/],
      [{ url: 'http://hub', initialDelayMs: 1.5 }, /option initialDelayMs 1.5/],
      [{ url: 'http://hub', initialDelayMs: 100, maxDelayMs: 50 }, /at least 100/],
      [{ url: 'http://hub', maxDelayMs: 2 ** 31 }, /at most 2147483647/],
      [{ url: 'http://hub', jitter: 'none' }, /option jitter "none"/],
      [{ url: 'http://hub', maxAttempts: 0 }, /option maxAttempts 0/],
      [{ url: 'http://hub', transport: 'websocket' }, /option transport "websocket"/],
      [{ url: 'http://hub', headers: { 'x-a': 1 } }, /header "x-a"/],
      [{ url: 'http://hub', headers: 'x' }, /option headers "x"/],
    ]
    for (const [options, pattern] of cases) assertInvalid(options, pattern)
  })

  it('eventsource: rejects headers, which EventSource cannot send', () => {
    assertInvalid(
      {
        url: 'http://hub',
        transport: 'eventsource',
        EventSource: FakeEventSource,
        headers: { authorization: 'Bearer t' },
      },
      /cannot send headers/,
    )
  })

  it('eventsource: rejects a runtime without EventSource', () => {
    assertInvalid({ url: 'http://hub', transport: 'eventsource' }, /has none/)
  })

  it('rejects missing options', () => {
    assertInvalid(undefined, /Missing options/)
  })
})
