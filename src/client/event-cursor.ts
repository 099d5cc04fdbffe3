/**
 * The client's place in a subscription, read from event ids of the form
 * `<subscriptionId>.<position>`. Positions only grow within one subscription, so the client needs
 * one id and one number, however long it runs, to tell a repeated event from a new one.
 * @module
 */

/** Subscription id and log position read from one event id. */
export interface EventCursor {
  readonly subscriptionId: string
  readonly position: number
}

const EVENT_ID = /^(.+)\.(0|[1-9][0-9]*)$/

/**
 * Reads an event id the hub issued. Returns `undefined` for any other value.
 *
 * NOTE: the subscription id is not checked to be a UUID. The hub rejects a malformed one with a
 * 400, which the client reports, so the client does not need to know the hub's id format.
 */
export function parseEventCursor(id: string): EventCursor | undefined {
  const match = EVENT_ID.exec(id)
  if (match === null) return undefined
  const position = Number(match[2])
  if (!Number.isSafeInteger(position)) return undefined
  return { subscriptionId: match[1] as string, position }
}

/** Formats a cursor as the event id the hub sends and accepts as `lastEventId`. */
export function formatEventCursor(cursor: EventCursor): string {
  return `${cursor.subscriptionId}.${cursor.position}`
}

/** Verdict on one event id. */
export type CursorVerdict = 'new' | 'duplicate' | 'untracked'

/**
 * Newest position the client has seen, used to drop events that arrive twice, such as the window
 * the hub replays after a resume by path id.
 */
export class EventCursorTracker {
  #cursor: EventCursor | undefined

  constructor(initial?: EventCursor) {
    this.#cursor = initial
  }

  /** Newest cursor seen, `undefined` before the first event. */
  get cursor(): EventCursor | undefined {
    return this.#cursor
  }

  /**
   * Classifies an event id and moves the cursor past a new one.
   *
   * - `duplicate`: same subscription, position at or below the newest seen.
   * - `new`: a higher position, or another subscription, which replaces the cursor.
   * - `untracked`: not an id of the form `<subscriptionId>.<position>`; the cursor stays.
   */
  accept(id: string): CursorVerdict {
    const next = parseEventCursor(id)
    if (next === undefined) return 'untracked'
    const current = this.#cursor
    if (current?.subscriptionId === next.subscriptionId && next.position <= current.position) {
      return 'duplicate'
    }
    this.#cursor = next
    return 'new'
  }

  /** Replaces the cursor, even with a lower position, as after a reset. */
  rebase(cursor: EventCursor | undefined): void {
    this.#cursor = cursor
  }
}
