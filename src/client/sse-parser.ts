/**
 * Incremental parser for the `text/event-stream` format, for the fetch transport.
 *
 * It takes the response body in chunks of any size, as bytes or text, and dispatches events by
 * the WHATWG rules. Bytes go through one streaming UTF-8 decoder, so a character split between two
 * chunks is decoded once the rest arrives, and invalid bytes become U+FFFD.
 *
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 * @module
 */

/** One dispatched event, with the values a browser's `MessageEvent` would carry. */
export interface SseMessage {
  /** Event type: the last `event` field of the block, or `message` when it had none. */
  readonly event: string
  /** The block's `data` lines joined with LF. */
  readonly data: string
  /** Last event id of the stream when the event was dispatched, `''` when none was set. */
  readonly id: string
}

/** Callbacks of the parser. */
export interface SseParserCallbacks {
  /** Receives each dispatched event. */
  readonly onEvent: (message: SseMessage) => void
  /** Receives each valid `retry` value, in milliseconds. */
  readonly onRetry?: (delayMs: number) => void
  /** Receives the text of each comment line after the colon, one leading space removed. */
  readonly onComment?: (text: string) => void
}

const LINE_BREAK = /\r\n|\r|\n/g
const ASCII_DIGITS = /^[0-9]+$/
const BOM = '\uFEFF'

/**
 * Streaming `text/event-stream` parser. Create one per connection: it keeps the last event id
 * and the partial line and event of the stream it reads.
 *
 * @example
 * const parser = new SseParser({ onEvent: (message) => console.log(message.id, message.data) })
 * for await (const chunk of response.body) parser.feed(chunk)
 * parser.end()
 */
export class SseParser {
  readonly #callbacks: SseParserCallbacks
  // [spec] The stream is decoded with "UTF-8 decode", which removes one leading BOM. The decoder
  // keeps it (ignoreBOM) so that the text path below removes exactly one, whichever way the
  // stream arrives.
  readonly #decoder = new TextDecoder('utf-8', { ignoreBOM: true })
  #atStart = true
  /** Whether the last chunk ended in CR, so an LF at the start of the next one ends no line. */
  #afterCarriageReturn = false
  #partialLine = ''
  #data = ''
  #eventType = ''
  #lastEventId = ''

  constructor(callbacks: SseParserCallbacks) {
    this.#callbacks = callbacks
  }

  /** Parses the next chunk of the stream, dispatching every event it completes. */
  feed(chunk: Uint8Array | string): void {
    const text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true })
    this.#feedText(text)
  }

  /**
   * Ends the stream. Bytes of an incomplete character are decoded as U+FFFD.
   * [spec] An event not ended by a blank line before the stream ends is discarded, so nothing
   * more is dispatched.
   */
  end(): void {
    this.#feedText(this.#decoder.decode())
    this.#partialLine = ''
    this.#data = ''
    this.#eventType = ''
  }

  #feedText(input: string): void {
    if (input === '') return
    let text = input
    if (this.#atStart) {
      this.#atStart = false
      if (text.startsWith(BOM)) text = text.slice(1)
    }
    let start = 0
    if (this.#afterCarriageReturn) {
      this.#afterCarriageReturn = false
      if (text.startsWith('\n')) start = 1
    }

    LINE_BREAK.lastIndex = start
    for (let match = LINE_BREAK.exec(text); match !== null; match = LINE_BREAK.exec(text)) {
      const line = this.#partialLine + text.slice(start, match.index)
      this.#partialLine = ''
      start = match.index + match[0].length
      // A CR that ends the chunk may be the first half of a CRLF split across two chunks.
      if (match[0] === '\r' && start === text.length) this.#afterCarriageReturn = true
      this.#processLine(line)
    }
    this.#partialLine += text.slice(start)
  }

  #processLine(line: string): void {
    if (line === '') {
      this.#dispatch()
      return
    }
    if (line.startsWith(':')) {
      this.#callbacks.onComment?.(line.startsWith(': ') ? line.slice(2) : line.slice(1))
      return
    }

    // [spec] The field name runs to the first colon, and one space after the colon is removed. A
    // line without a colon is a field with an empty value.
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)

    switch (field) {
      case 'event':
        this.#eventType = value
        break
      case 'data':
        this.#data += `${value}\n`
        break
      case 'id':
        // [spec] An id containing NUL is ignored. An empty id clears the last event id.
        if (!value.includes('\0')) this.#lastEventId = value
        break
      case 'retry':
        // [spec] Only a value of ASCII digits sets the reconnection time. Note: an empty value is
        // ignored too, because it names no number.
        if (ASCII_DIGITS.test(value)) this.#callbacks.onRetry?.(Number(value))
        break
      default:
        // [spec] Unknown fields are ignored.
        break
    }
  }

  #dispatch(): void {
    // [spec] A block without data dispatches nothing, but an `id` in it still sets the last
    // event id, which stays set for later events.
    if (this.#data === '') {
      this.#eventType = ''
      return
    }
    const message: SseMessage = {
      event: this.#eventType === '' ? 'message' : this.#eventType,
      data: this.#data.slice(0, -1),
      id: this.#lastEventId,
    }
    this.#data = ''
    this.#eventType = ''
    this.#callbacks.onEvent(message)
  }
}
