import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  MAX_TIMER_DELAY_MS,
  backoffRange,
  drawBackoffDelay,
  type BackoffOptions,
} from './backoff.js'

const full: BackoffOptions = { initialDelayMs: 100, maxDelayMs: 1_000, jitter: 'full' }
const decorrelated: BackoffOptions = { ...full, jitter: 'decorrelated' }
/** Largest value `Math.random` returns. */
const ALMOST_ONE = 1 - Number.EPSILON

describe('backoffRange', () => {
  it('full: doubles the cap with each attempt up to maxDelayMs', () => {
    const maxima = [0, 1, 2, 3, 4, 5].map((attempt) => backoffRange(full, attempt, undefined).max)

    assert.deepEqual(maxima, [100, 200, 400, 800, 1_000, 1_000])
    assert.equal(backoffRange(full, 3, undefined).min, 0)
  })

  it('full: stays at maxDelayMs for very large attempts', () => {
    assert.deepEqual(backoffRange(full, 5_000, undefined), { min: 0, max: 1_000 })
  })

  it('decorrelated: ranges from initialDelayMs to three times the previous delay', () => {
    assert.deepEqual(backoffRange(decorrelated, 0, undefined), { min: 100, max: 300 })
    assert.deepEqual(backoffRange(decorrelated, 1, 250), { min: 100, max: 750 })
    assert.deepEqual(backoffRange(decorrelated, 2, 900), { min: 100, max: 1_000 })
  })

  it('decorrelated: counts a previous delay below initialDelayMs as initialDelayMs', () => {
    assert.deepEqual(backoffRange(decorrelated, 1, 0), { min: 100, max: 300 })
  })
})

describe('drawBackoffDelay', () => {
  it('draws the ends of the range for the ends of the random source', () => {
    assert.equal(
      drawBackoffDelay(full, 2, undefined, 0, () => 0),
      0,
    )
    assert.equal(
      drawBackoffDelay(full, 2, undefined, 0, () => ALMOST_ONE),
      400,
    )
    assert.equal(
      drawBackoffDelay(decorrelated, 1, 200, 0, () => 0),
      100,
    )
    assert.equal(
      drawBackoffDelay(decorrelated, 1, 200, 0, () => ALMOST_ONE),
      600,
    )
  })

  it('raises the delay to the floor', () => {
    assert.equal(
      drawBackoffDelay(full, 0, undefined, 3_000, () => 0.5),
      3_000,
    )
    assert.equal(
      drawBackoffDelay(full, 9, undefined, 10, () => ALMOST_ONE),
      1_000,
    )
  })

  it('caps a huge floor at the longest timer delay', () => {
    assert.equal(drawBackoffDelay(full, 0, undefined, 1e300), MAX_TIMER_DELAY_MS)
  })

  it('stays within the range or at the floor for any input', () => {
    const options = fc
      .record({
        initialDelayMs: fc.integer({ min: 1, max: 10_000 }),
        extraMs: fc.integer({ min: 0, max: 100_000 }),
        jitter: fc.constantFrom('full' as const, 'decorrelated' as const),
      })
      .map(({ initialDelayMs, extraMs, jitter }) => ({
        initialDelayMs,
        maxDelayMs: initialDelayMs + extraMs,
        jitter,
      }))
    fc.assert(
      fc.property(
        options,
        fc.nat({ max: 100 }),
        fc.option(fc.nat({ max: 200_000 }), { nil: undefined }),
        fc.nat({ max: 50_000 }),
        fc.double({ min: 0, max: ALMOST_ONE, noNaN: true }),
        (settings, attempt, previous, floor, random) => {
          const range = backoffRange(settings, attempt, previous)
          const delay = drawBackoffDelay(settings, attempt, previous, floor, () => random)

          assert.ok(Number.isInteger(delay), `delay ${delay} is not whole`)
          if (floor > range.max) assert.equal(delay, floor)
          else assert.ok(delay >= Math.max(range.min, floor) && delay <= range.max, `${delay}`)
        },
      ),
      { numRuns: 1_000 },
    )
  })
})
