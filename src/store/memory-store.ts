/**
 * An event store in process memory, for tests and for hubs that may lose everything on restart.
 * @module
 */
import { AppendListeners } from './append-listeners.js'
import type {
  AppendNotice,
  EventStore,
  LogBounds,
  NewEvent,
  RetentionPolicy,
  StoredEvent,
  SubscriptionRecord,
  SubscriptionUpdate,
} from './event-store.js'

/** Options of `MemoryStore`. */
export interface MemoryStoreOptions {
  /** Clock in milliseconds since the epoch; tests replace it. Default `Date.now`. */
  readonly now?: () => number
}

/** Keeps the log in an array and subscriptions in a map. */
export class MemoryStore implements EventStore {
  readonly kind = 'memory'
  readonly shared: boolean = false
  readonly #now: () => number
  readonly #listeners = new AppendListeners()
  readonly #subscriptions = new Map<string, SubscriptionRecord>()
  /** Retained events; `#events[i]` has position `#trimmedThrough + 1 + i`. */
  #events: StoredEvent[] = []
  #trimmedThrough = 0

  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? Date.now
  }

  async append(event: NewEvent): Promise<StoredEvent> {
    const stored: StoredEvent = {
      position: this.#trimmedThrough + this.#events.length + 1,
      eventType: event.eventType,
      json: event.json,
      createdAt: this.#now(),
    }
    this.#events.push(stored)
    this.#listeners.notify({ head: stored.position, event: stored })
    return stored
  }

  async readAfter(position: number, limit: number): Promise<StoredEvent[]> {
    const start = Math.max(0, position - this.#trimmedThrough)
    return this.#events.slice(start, start + limit)
  }

  async bounds(): Promise<LogBounds> {
    return {
      trimmedThrough: this.#trimmedThrough,
      head: this.#trimmedThrough + this.#events.length,
    }
  }

  async trim(policy: RetentionPolicy): Promise<number> {
    let remove = Math.max(0, this.#events.length - policy.maxEvents)
    while (
      remove < this.#events.length &&
      this.#events[remove]!.createdAt < policy.appendedBefore
    ) {
      remove++
    }
    if (remove === 0) return 0
    this.#events = this.#events.slice(remove)
    this.#trimmedThrough += remove
    return remove
  }

  watch(listener: (notice: AppendNotice) => void): () => void {
    return this.#listeners.add(listener)
  }

  async createSubscription(record: SubscriptionRecord): Promise<void> {
    this.#subscriptions.set(record.id, record)
  }

  async getSubscription(id: string): Promise<SubscriptionRecord | undefined> {
    return this.#subscriptions.get(id)
  }

  async updateSubscriptions(updates: readonly SubscriptionUpdate[]): Promise<void> {
    for (const update of updates) {
      const record = this.#subscriptions.get(update.id)
      if (!record) continue
      this.#subscriptions.set(update.id, {
        ...record,
        position: update.position ?? record.position,
        startPosition: update.startPosition ?? record.startPosition,
        connectionState: update.connectionState ?? record.connectionState,
        lastSeenAt: update.lastSeenAt,
      })
    }
  }

  async expireSubscriptions(lastSeenBefore: number): Promise<number> {
    let removed = 0
    for (const [id, record] of this.#subscriptions) {
      if (record.lastSeenAt < lastSeenBefore) {
        this.#subscriptions.delete(id)
        removed++
      }
    }
    return removed
  }

  async close(): Promise<void> {
    this.#listeners.clear()
  }
}
