/**
 * Conversion of the stream entries and hashes that `RedisStore` reads into store records. The
 * store's module comment describes the key layout.
 * @module
 */
import { StoreUnavailableError, quoteForMessage } from '../errors.js'
import type { ConnectionState, StoredEvent, SubscriptionRecord } from './event-store.js'

const CONNECTION_STATES: ReadonlySet<string> = new Set<ConnectionState>([
  'open',
  'closed',
  'failed',
])

/**
 * Converts a stream entry of the log.
 * @internal
 */
export function toStoredEvent(id: string, fields: readonly string[]): StoredEvent {
  const values = new Map<string, string>()
  for (let i = 0; i + 1 < fields.length; i += 2) values.set(fields[i]!, fields[i + 1]!)
  return {
    position: Number.parseInt(id, 10),
    eventType: values.get('eventType') ?? '',
    json: values.get('json') ?? '',
    createdAt: Number(values.get('createdAt')),
  }
}

/**
 * Converts the fields of a subscription hash.
 * @throws {StoreUnavailableError} when the connection state is not one of `ConnectionState`.
 * @internal
 */
export function toSubscription(id: string, fields: Record<string, string>): SubscriptionRecord {
  const state = fields.connectionState ?? ''
  if (!CONNECTION_STATES.has(state)) {
    throw new StoreUnavailableError(
      `Subscription ${quoteForMessage(id)} in Redis has an invalid connection state ${quoteForMessage(state)}`,
    )
  }
  return {
    id,
    position: Number(fields.position),
    startPosition: Number(fields.startPosition),
    connectionState: state as ConnectionState,
    createdAt: Number(fields.createdAt),
    lastSeenAt: Number(fields.lastSeenAt),
  }
}
