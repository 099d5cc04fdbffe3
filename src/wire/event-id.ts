/**
 * Event ids on the wire: `<subscriptionId>.<position>`. The id names the subscription as well as
 * the position, so a browser's own `EventSource` resumes with `Last-Event-ID` even when it reopens
 * `/api/v1/sse` without a subscription id in the path.
 * @module
 */
import { InvalidLastEventIdError, InvalidSubscriptionIdError, quoteForMessage } from '../errors.js'

/** Subscription id and log position carried by one event id. */
export interface EventCursor {
  readonly subscriptionId: string
  readonly position: number
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const EVENT_ID =
  /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(0|[1-9][0-9]{0,15})$/

/** Returns whether the value is a lowercase UUID, the form of subscription and case ids. */
export function isUuid(value: string): boolean {
  return UUID.test(value)
}

/**
 * Returns the subscription id, lowercased.
 * @throws {InvalidSubscriptionIdError} when it is not a UUID.
 */
export function parseSubscriptionId(value: string): string {
  const lower = value.toLowerCase()
  if (!UUID.test(lower)) {
    throw new InvalidSubscriptionIdError(
      `Invalid subscription id ${quoteForMessage(value)}; expected the UUID from ESTABLISHED_CONNECTION`,
    )
  }
  return lower
}

/** Formats the id prefix shared by every event of one subscription. */
export function eventIdPrefix(subscriptionId: string): string {
  return `${subscriptionId}.`
}

/** Formats the event id of a position in a subscription. */
export function formatEventId(cursor: EventCursor): string {
  return `${cursor.subscriptionId}.${cursor.position}`
}

/**
 * Parses an event id this hub issued.
 * @throws {InvalidLastEventIdError} when the value is not `<uuid>.<position>`.
 */
export function parseEventId(value: string): EventCursor {
  const match = EVENT_ID.exec(value.toLowerCase())
  const position = match ? Number(match[2]) : NaN
  if (!match || !Number.isSafeInteger(position)) {
    throw new InvalidLastEventIdError(
      `Invalid last event id ${quoteForMessage(value)}; expected "<subscriptionId>.<position>" as sent in the id field`,
    )
  }
  return { subscriptionId: match[1] as string, position }
}
