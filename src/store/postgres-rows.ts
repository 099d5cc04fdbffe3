/**
 * The rows that `PostgresStore` reads and writes, and their conversion to and from store records.
 * @module
 */
import type {
  ConnectionState,
  StoredEvent,
  SubscriptionRecord,
  SubscriptionUpdate,
} from './event-store.js'

/**
 * A row of `events` as `pg` returns it, with `bigint` columns as strings.
 * @internal
 */
export interface EventRow {
  position: string
  event_type: string
  json: string
  created_at: string
}

/**
 * A row of `subscriptions` as `pg` returns it, with `bigint` columns as strings.
 * @internal
 */
export interface SubscriptionRow {
  id: string
  position: string
  start_position: string
  connection_state: ConnectionState
  created_at: string
  last_seen_at: string
}

/**
 * A subscription update after merging the updates of one id, with `null` for fields left out.
 * @internal
 */
export interface MergedUpdate {
  id: string
  position: number | null
  startPosition: number | null
  connectionState: ConnectionState | null
  lastSeenAt: number
}

/**
 * Converts a row of `events`.
 * @internal
 */
export function toStoredEvent(row: EventRow): StoredEvent {
  return {
    position: Number(row.position),
    eventType: row.event_type,
    json: row.json,
    createdAt: Number(row.created_at),
  }
}

/**
 * Converts a row of `subscriptions`.
 * @internal
 */
export function toSubscription(row: SubscriptionRow): SubscriptionRecord {
  return {
    id: row.id,
    position: Number(row.position),
    startPosition: Number(row.start_position),
    connectionState: row.connection_state,
    createdAt: Number(row.created_at),
    lastSeenAt: Number(row.last_seen_at),
  }
}

/**
 * Converts a time limit to an integer that a `bigint` parameter accepts, even for ±Infinity.
 * @internal
 */
export function toBigintBound(ms: number): number {
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(Number.MIN_SAFE_INTEGER, Math.ceil(ms)))
}

/**
 * Merges the updates of each id in order, so that the last value given for a field wins, as if
 * they were applied one after another. Sorted by id, so that concurrent batches from several hubs
 * usually lock rows in the same order; PostgreSQL fails one batch of a remaining deadlock.
 * @internal
 */
export function mergeUpdates(updates: readonly SubscriptionUpdate[]): MergedUpdate[] {
  const merged = new Map<string, MergedUpdate>()
  for (const update of updates) {
    const previous = merged.get(update.id)
    merged.set(update.id, {
      id: update.id,
      position: update.position ?? previous?.position ?? null,
      startPosition: update.startPosition ?? previous?.startPosition ?? null,
      connectionState: update.connectionState ?? previous?.connectionState ?? null,
      lastSeenAt: update.lastSeenAt,
    })
  }
  // Ids are unique after merging, so no two compare equal.
  return [...merged.values()].sort((a, b) => (a.id < b.id ? -1 : 1))
}
