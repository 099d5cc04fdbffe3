/**
 * Typed events. An application extends `BaseSseEvent` and adds readonly properties; the JSON of
 * the object, `eventType` included, is what subscribers receive.
 * @module
 */
import { ESTABLISHED_CONNECTION, MAX_EVENT_TYPE_LENGTH } from '../constants.js'
import { InvalidEventError, quoteForMessage } from '../errors.js'
import { escapeLineSeparators } from '../wire/sse-frame.js'

const EVENT_TYPE = /^[A-Za-z0-9_.:/-]+$/

/**
 * Checks an event type: 1 to 128 characters of ASCII letters, digits and `_ . : / -`. The rule
 * keeps CR and LF out of `event:` lines and keeps types easy to match in client code.
 * @throws {InvalidEventError} with a message that names the problem.
 */
export function assertValidEventType(eventType: unknown): asserts eventType is string {
  if (typeof eventType !== 'string') {
    throw new InvalidEventError(
      eventType === undefined
        ? 'Missing "eventType"; every event needs a string eventType such as "CASE_CREATED"'
        : `Invalid "eventType" of type ${eventType === null ? 'null' : typeof eventType}; expected a string`,
    )
  }
  if (eventType.length === 0 || eventType.length > MAX_EVENT_TYPE_LENGTH) {
    throw new InvalidEventError(
      `Invalid "eventType" ${quoteForMessage(eventType)}; expected 1 to ${MAX_EVENT_TYPE_LENGTH} characters`,
    )
  }
  if (!EVENT_TYPE.test(eventType)) {
    throw new InvalidEventError(
      `Invalid "eventType" ${quoteForMessage(eventType)}; only ASCII letters, digits and _ . : / - are allowed`,
    )
  }
}

/**
 * Base class of every event. The constructor takes the event type; subclasses add readonly
 * properties, which must be JSON-serializable.
 *
 * @example
 * class CaseCreatedEvent extends BaseSseEvent {
 *   readonly caseId: string
 *   constructor(caseId: string) {
 *     super('CASE_CREATED')
 *     this.caseId = caseId
 *   }
 * }
 * await service.notifySubscribers(new CaseCreatedEvent('c-1'))
 */
export class BaseSseEvent {
  readonly eventType: string

  /** @throws {InvalidEventError} when the event type is invalid. */
  constructor(eventType: string) {
    assertValidEventType(eventType)
    this.eventType = eventType
  }
}

/** First event on every stream: which subscription the connection serves and how it started. */
export class EstablishedConnectionEvent extends BaseSseEvent {
  readonly subscriptionId: string
  /** True when the stream continues an existing subscription from its position. */
  readonly resumed: boolean
  /**
   * True when a resume was requested but could not be complete, so the client must reload its
   * state: the subscription was unknown or expired, or missed events left the log.
   */
  readonly reset: boolean

  constructor(subscriptionId: string, resumed: boolean, reset: boolean) {
    super(ESTABLISHED_CONNECTION)
    this.subscriptionId = subscriptionId
    this.resumed = resumed
    this.reset = reset
  }
}

/** Any JSON object with a string `eventType`. */
export type SseEventObject = { readonly eventType: string } & Readonly<Record<string, unknown>>

/**
 * Returns the event type of an event value.
 * @throws {InvalidEventError} when the value is not an object with a valid `eventType`.
 */
function eventTypeOf(value: unknown): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    let kind: string = typeof value
    if (value === null) kind = 'null'
    if (Array.isArray(value)) kind = 'array'
    throw new InvalidEventError(
      `Invalid event of type ${kind}; expected a JSON object with an "eventType"`,
    )
  }
  const { eventType } = value as { eventType?: unknown }
  assertValidEventType(eventType)
  return eventType
}

/**
 * Checks a JSON text that a publisher sent and returns it ready for the log, unchanged but for
 * whitespace: numbers beyond double precision and `-0` reach subscribers exactly as sent. Line
 * breaks, which JSON allows only as whitespace between tokens, become spaces, and U+2028, U+2029
 * and U+0085 are escaped.
 * @param value `text` parsed with `JSON.parse`.
 * @throws {InvalidEventError} when the value is not a JSON object with a valid `eventType`.
 */
export function prepareEventJson(
  text: string,
  value: unknown,
): { eventType: string; json: string } {
  const eventType = eventTypeOf(value)
  return { eventType, json: escapeLineSeparators(text.trim().replace(/[\r\n]+/g, ' ')) }
}

/**
 * Serializes an event once, for the log and every subscriber. An event's `toJSON`, when it has
 * one, is applied first, so the checks below see exactly what subscribers receive.
 * @throws {InvalidEventError} when the event is not a JSON object with a valid `eventType`, or
 *   when it cannot be serialized (a cycle or a BigInt).
 */
export function serializeEvent(event: unknown): { eventType: string; json: string } {
  let value = event
  const toJSON = (event as { toJSON?: unknown } | null)?.toJSON
  if (typeof toJSON === 'function') {
    try {
      value = toJSON.call(event, '')
    } catch (err) {
      throw new InvalidEventError('Event toJSON() failed', { cause: err })
    }
  }
  const eventType = eventTypeOf(value)
  let json: string
  try {
    json = JSON.stringify(value)
  } catch (err) {
    const message = `Event ${quoteForMessage(eventType)} cannot be serialized to JSON`
    throw new InvalidEventError(message, { cause: err })
  }
  return { eventType, json: escapeLineSeparators(json) }
}
