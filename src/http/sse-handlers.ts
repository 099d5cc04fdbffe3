/**
 * Request handlers of the subscribe and publish endpoints, written against node:http's request
 * and response so that any Node framework can mount them.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { DEFAULTS } from '../constants.js'
import { InvalidLastEventIdError } from '../errors.js'
import type { SseSubscriptionService } from '../hub/sse-subscription-service.js'
import { parseEventId, parseSubscriptionId, type EventCursor } from '../wire/event-id.js'
import { sendJson } from './json-response.js'
import { readJsonText } from './read-json-body.js'

/** Options of the publish handler. */
export interface PublishHandlerOptions {
  /** Maximum size of a request body, in bytes. Default 64 KiB. */
  readonly maxBodyBytes?: number
}

/**
 * Reads the position a client has: the `Last-Event-ID` header, or the `lastEventId` query
 * parameter for clients that cannot set headers. An empty value means none.
 * @throws {InvalidLastEventIdError} when the value is not an id this hub issued.
 */
export function readLastEventId(
  req: IncomingMessage,
  query: URLSearchParams,
): EventCursor | undefined {
  const header = req.headers['last-event-id']
  const value =
    (Array.isArray(header) ? header[0] : header) || query.get('lastEventId') || undefined
  if (value === undefined) return undefined
  // Node decodes header values as Latin-1; ids this hub issues are printable ASCII, so anything
  // else is rejected instead of being decoded.
  if (!/^[\x20-\x7e]*$/.test(value)) {
    throw new InvalidLastEventIdError(
      'Invalid last event id: it contains characters other than printable ASCII',
    )
  }
  return parseEventId(value)
}

/**
 * Handles `GET /api/v1/sse` and `GET /api/v1/sse/{subscriptionId}`.
 * @param subscriptionId the path parameter, `undefined` for a new subscription.
 * @throws {TidingsError} for bad input or a failed store, before anything is written.
 */
export async function handleSubscribe(
  service: SseSubscriptionService,
  req: IncomingMessage,
  res: ServerResponse,
  subscriptionId: string | undefined,
): Promise<void> {
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams
  const lastEventId = readLastEventId(req, query)
  const pathId = subscriptionId === undefined ? undefined : parseSubscriptionId(subscriptionId)
  await service.subscribe({
    res,
    ...(pathId === undefined ? {} : { subscriptionId: pathId }),
    ...(lastEventId === undefined ? {} : { lastEventId }),
  })
}

/**
 * Handles `POST /api/v1/events`: the body is the event, a JSON object with an `eventType`.
 * Responds `202` with the event's position once the store has accepted it.
 * @throws {TidingsError} for bad input or a failed store; nothing was appended.
 */
export async function handlePublish(
  service: SseSubscriptionService,
  req: IncomingMessage,
  res: ServerResponse,
  options: PublishHandlerOptions = {},
): Promise<void> {
  const text = await readJsonText(req, options.maxBodyBytes ?? DEFAULTS.maxBodyBytes)
  const published = await service.publishJson(text)
  sendJson(res, 202, published)
}
