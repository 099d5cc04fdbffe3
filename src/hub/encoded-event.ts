import type { StoredEvent } from '../store/event-store.js'
import { encodeDataLines, encodeEventLine } from '../wire/sse-frame.js'

/**
 * A stored event with the part of its SSE frame that every subscriber shares, encoded once.
 * A subscriber's frame is `body` followed by its own `id:` line and the blank line.
 * @internal
 */
export interface EncodedEvent {
  readonly position: number
  readonly eventType: string
  readonly body: string
}

/** Encodes the shared part of an event's frame: the optional `event:` line and the data lines. */
export function encodeEvent(event: StoredEvent, namedEvents: boolean): EncodedEvent {
  const eventLine = namedEvents ? encodeEventLine(event.eventType) : ''
  return {
    position: event.position,
    eventType: event.eventType,
    body: eventLine + encodeDataLines(event.json),
  }
}
