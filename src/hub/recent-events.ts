import type { EncodedEvent } from './encoded-event.js'

/**
 * The newest dispatched events, encoded, so that subscribers catching up after a short break or a
 * full socket buffer read memory instead of the store. Positions are contiguous. The cache is
 * bounded by event count and by the total length of the encoded events.
 * @internal
 */
export class RecentEvents {
  readonly #maxEvents: number
  readonly #maxChars: number
  /** Cached events start at `#events[#first]`; the slots before it are dropped lazily. */
  #events: EncodedEvent[] = []
  #first = 0
  #chars = 0

  constructor(maxEvents: number, maxChars: number) {
    this.#maxEvents = maxEvents
    this.#maxChars = maxChars
  }

  /** Adds the event that follows the newest one; a gap clears the cache first. */
  add(event: EncodedEvent): void {
    const newest = this.#events.at(-1)
    if (newest && newest.position + 1 !== event.position) this.#clear()
    this.#events.push(event)
    this.#chars += event.body.length
    while (
      this.#events.length - this.#first > this.#maxEvents ||
      (this.#chars > this.#maxChars && this.#events.length - this.#first > 1)
    ) {
      this.#chars -= this.#events[this.#first]!.body.length
      this.#first++
    }
    // Compact once the dropped slots outnumber the live ones, so adding stays O(1) amortized.
    if (this.#first > 1024 && this.#first * 2 > this.#events.length) {
      this.#events = this.#events.slice(this.#first)
      this.#first = 0
    }
  }

  /**
   * Returns up to `limit` events after `position`, or `undefined` when the cache does not hold
   * the event right after it.
   */
  readAfter(position: number, limit: number): EncodedEvent[] | undefined {
    const oldest = this.#events[this.#first]
    if (!oldest || position + 1 < oldest.position) return undefined
    const start = this.#first + position + 1 - oldest.position
    if (start >= this.#events.length) return undefined
    return this.#events.slice(start, start + limit)
  }

  #clear(): void {
    this.#events = []
    this.#first = 0
    this.#chars = 0
  }
}
