import type { StoredEvent } from '../store/event-store.js'
import { encodeDataLines, encodeEventLine } from '../wire/sse-frame.js'

/**
 * Length from which the shared body is also kept as UTF-8 bytes. Below it, joining the body with
 * each subscriber's `id:` line into one string and writing that is cheaper. Above it, converting
 * the body to bytes again for every subscriber costs more than writing it as its own chunk.
 */
const BYTES_FROM_LENGTH = 1024

/**
 * A stored event with the part of its SSE frame that every subscriber shares, encoded once.
 * A subscriber's frame is `body` followed by its own `id:` line and the blank line.
 * @internal
 */
export interface EncodedEvent {
  readonly position: number
  readonly eventType: string
  readonly body: string
  /** `body` as UTF-8, for large bodies only. */
  readonly bodyBytes: Buffer | undefined
}

/** Encodes the shared part of an event's frame: the optional `event:` line and the data lines. */
export function encodeEvent(event: StoredEvent, namedEvents: boolean): EncodedEvent {
  const eventLine = namedEvents ? encodeEventLine(event.eventType) : ''
  const body = eventLine + encodeDataLines(event.json)
  return {
    position: event.position,
    eventType: event.eventType,
    body,
    bodyBytes: body.length >= BYTES_FROM_LENGTH ? Buffer.from(body, 'utf8') : undefined,
  }
}
