import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { BackoffOptions } from './backoff.js'
import { TidingsClientError } from './client-errors.js'
import { ReconnectPolicy, type ReconnectDecision } from './reconnect-policy.js'
import type { ConnectionFailure } from './transport.js'

const BACKOFF: BackoffOptions = { initialDelayMs: 100, maxDelayMs: 10_000, jitter: 'full' }
/** Largest value `Math.random` returns, which draws the top of each range. */
const TOP = (): number => 1 - Number.EPSILON

function connectionRefused(): ConnectionFailure {
  return { error: new TidingsClientError('network', 'connection refused'), permanent: false }
}

function unavailable(retryAfterMs: number): ConnectionFailure {
  const error = new TidingsClientError('http', 'unavailable', { status: 503, code: 'ERR_X' })
  return { error, permanent: false, retryAfterMs }
}

function reconnectOf(decision: ReconnectDecision): { attempt: number; delayMs: number } {
  assert.equal(decision.kind, 'reconnect')
  return { attempt: decision.attempt, delayMs: decision.delayMs }
}

describe('ReconnectPolicy', () => {
  it('counts failed attempts and doubles the bound', () => {
    const policy = new ReconnectPolicy(BACKOFF, Number.POSITIVE_INFINITY, TOP)
    const decisions = [1, 2, 3].map(() => reconnectOf(policy.next(connectionRefused(), false)))

    assert.deepEqual(decisions, [
      { attempt: 1, delayMs: 200 },
      { attempt: 2, delayMs: 400 },
      { attempt: 3, delayMs: 800 },
    ])
  })

  it('starts at attempt 0 after a lost stream', () => {
    const policy = new ReconnectPolicy(BACKOFF, 3, TOP)
    policy.next(connectionRefused(), false)
    policy.next(connectionRefused(), false)
    policy.recordOpen()

    assert.deepEqual(reconnectOf(policy.next(undefined, true)), { attempt: 0, delayMs: 100 })
    assert.deepEqual(reconnectOf(policy.next(connectionRefused(), false)), {
      attempt: 1,
      delayMs: 200,
    })
  })

  it('keeps the hub retry value as a lower bound', () => {
    const policy = new ReconnectPolicy(BACKOFF, Number.POSITIVE_INFINITY, () => 0)
    policy.setHubRetry(3_000)

    assert.equal(reconnectOf(policy.next(undefined, true)).delayMs, 3_000)
    assert.equal(reconnectOf(policy.next(connectionRefused(), false)).delayMs, 3_000)
  })

  it('waits at least the Retry-After of the failure', () => {
    const policy = new ReconnectPolicy(BACKOFF, Number.POSITIVE_INFINITY, () => 0)

    assert.equal(reconnectOf(policy.next(unavailable(5_000), false)).delayMs, 5_000)
    assert.equal(reconnectOf(policy.next(connectionRefused(), false)).delayMs, 0)
  })

  it('maxAttempts: gives up with the last failure as cause', () => {
    const policy = new ReconnectPolicy(BACKOFF, 2)
    policy.next(connectionRefused(), false)
    const failure = unavailable(0)
    const decision = policy.next(failure, false)

    assert.equal(decision.kind, 'give-up')
    assert.ok(decision.kind === 'give-up')
    assert.equal(decision.error.kind, 'http')
    assert.equal(decision.error.status, 503)
    assert.equal(decision.error.code, 'ERR_X')
    assert.equal(decision.error.cause, failure.error)
    assert.match(decision.error.message, /^Gave up after 2 failed connection attempts/)
  })

  it('maxAttempts: never gives up after a lost stream', () => {
    const policy = new ReconnectPolicy(BACKOFF, 1)

    assert.equal(policy.next(undefined, true).kind, 'reconnect')
    assert.equal(policy.next(connectionRefused(), true).kind, 'reconnect')
    assert.equal(policy.next(connectionRefused(), false).kind, 'give-up')
  })

  it('decorrelated: draws from the previous delay and starts over after an open', () => {
    const policy = new ReconnectPolicy({ ...BACKOFF, jitter: 'decorrelated' }, 10, TOP)
    const delays = [1, 2, 3].map(() => reconnectOf(policy.next(connectionRefused(), false)).delayMs)
    policy.recordOpen()

    assert.deepEqual(delays, [300, 900, 2_700])
    assert.equal(reconnectOf(policy.next(undefined, true)).delayMs, 300)
  })
})
