import type { EncodedEvent } from './encoded-event.js'

/**
 * The newest dispatched events, encoded, so that subscribers catching up after a short break or a
 * full socket buffer read memory instead of the store. Positions are contiguous.
 * @internal
 */
export class RecentEvents {
  readonly #capacity: number
  #events: EncodedEvent[] = []

  constructor(capacity: number) {
    this.#capacity = capacity
  }

  /** Adds the event that follows the newest one; a gap clears the cache first. */
  add(event: EncodedEvent): void {
    const newest = this.#events.at(-1)
    if (newest && newest.position + 1 !== event.position) this.#events = []
    this.#events.push(event)
    // Drop the oldest half at once, so that adding stays O(1) amortized.
    if (this.#events.length >= this.#capacity * 2)
      this.#events = this.#events.slice(-this.#capacity)
  }

  /**
   * Returns up to `limit` events after `position`, or `undefined` when the cache does not hold
   * the event right after it.
   */
  readAfter(position: number, limit: number): EncodedEvent[] | undefined {
    const oldest = this.#events[0]
    if (!oldest || position + 1 < oldest.position) return undefined
    const start = position + 1 - oldest.position
    if (start >= this.#events.length) return undefined
    return this.#events.slice(start, start + limit)
  }
}
