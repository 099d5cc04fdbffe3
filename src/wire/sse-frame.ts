/**
 * Encoder for the `text/event-stream` format.
 *
 * Every function returns text that a client following the WHATWG parsing rules decodes back to
 * the given values. Lines end in LF only.
 *
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
 * @module
 */

/** One event on the wire. A frame without `data` sets `id` or `retry` but dispatches nothing. */
export interface SseFrame {
  /** Sets the client's last event id. Must not contain CR, LF or NUL. */
  readonly id?: string
  /** Event name for `addEventListener`. Omitted, the client dispatches a `message` event. */
  readonly event?: string
  /** Payload. CR, LF and CRLF inside it are line breaks and arrive as LF. */
  readonly data?: string
}

const LINE_BREAK = /\r\n|\r|\n/
const FORBIDDEN_IN_ID = /[\r\n\0]/
const FORBIDDEN_IN_EVENT = /[\r\n]/

/**
 * Encodes data as one `data:` line per line of the value.
 *
 * [spec] The client joins the data lines of one event with LF, so a value with line breaks must be
 * split; sending it on one line would end the field at the first break.
 */
export function encodeDataLines(data: string): string {
  if (!LINE_BREAK.test(data)) return `data: ${data}\n`
  let out = ''
  for (const line of data.split(LINE_BREAK)) out += `data: ${line}\n`
  return out
}

/**
 * Encodes an `id:` line.
 * @throws {TypeError} when the id contains CR, LF or NUL, which would end the field early or make
 *   the client ignore it.
 */
export function encodeIdLine(id: string): string {
  if (FORBIDDEN_IN_ID.test(id)) {
    throw new TypeError(`SSE id ${JSON.stringify(id)} contains CR, LF or NUL`)
  }
  return `id: ${id}\n`
}

/**
 * Encodes an `event:` line.
 * @throws {TypeError} when the name contains CR or LF, which would let it start a forged field.
 */
export function encodeEventLine(event: string): string {
  if (FORBIDDEN_IN_EVENT.test(event)) {
    throw new TypeError(`SSE event name ${JSON.stringify(event)} contains CR or LF`)
  }
  return `event: ${event}\n`
}

/** Encodes a whole frame, ended by the blank line that makes the client dispatch it. */
export function encodeFrame(frame: SseFrame): string {
  let out = ''
  if (frame.event !== undefined) out += encodeEventLine(frame.event)
  if (frame.data !== undefined) out += encodeDataLines(frame.data)
  if (frame.id !== undefined) out += encodeIdLine(frame.id)
  return `${out}\n`
}

/**
 * Encodes the `retry:` field that sets the client's reconnection delay.
 *
 * [spec] The client ignores the field unless its value is only ASCII digits.
 * @throws {RangeError} when `ms` is not a non-negative safe integer.
 */
export function encodeRetry(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new RangeError(`SSE retry must be a non-negative integer of milliseconds, got ${ms}`)
  }
  return `retry: ${ms}\n\n`
}

/**
 * Encodes a comment, one `:` line per line of the text. Clients ignore comments, which makes them
 * the heartbeat that keeps proxies from closing idle streams.
 */
export function encodeComment(text: string): string {
  let out = ''
  for (const line of text.split(LINE_BREAK)) out += line === '' ? ':\n' : `: ${line}\n`
  return out
}

const LINE_SEPARATORS = /[\u2028\u2029\u0085]/g

/**
 * Escapes U+2028, U+2029 and U+0085 in serialized JSON. `JSON.stringify` leaves them raw, and some
 * line-based clients in other languages read them as line breaks. The escaped form is equal JSON.
 */
export function escapeLineSeparators(json: string): string {
  return json.replace(
    LINE_SEPARATORS,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}
