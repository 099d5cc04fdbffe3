/**
 * URLs of the hub's subscribe endpoint.
 * @module
 */
import type { EventCursor } from './event-cursor.js'
import { formatEventCursor } from './event-cursor.js'

/** Path of the subscribe endpoint below the hub's base URL. */
export const SUBSCRIBE_PATH = '/api/v1/sse'

/** Start of a connection: a new subscription, or a resume by id and, if known, position. */
export interface SubscribeTarget {
  readonly subscriptionId?: string | undefined
  readonly cursor?: EventCursor | undefined
}

/**
 * Builds the URL of one connection. A resume names the subscription in the path and the position
 * in the `lastEventId` query parameter, which makes the hub resume exactly. A parameter rather
 * than the `Last-Event-ID` header keeps cross-origin requests free of a CORS preflight, and
 * `EventSource` cannot set headers.
 *
 * @param baseUrl the hub's base URL without a trailing slash, absolute or relative to the page.
 */
export function buildSubscribeUrl(baseUrl: string, target: SubscribeTarget): string {
  const subscriptionId = target.cursor?.subscriptionId ?? target.subscriptionId
  if (subscriptionId === undefined) return `${baseUrl}${SUBSCRIBE_PATH}`
  const path = `${baseUrl}${SUBSCRIBE_PATH}/${encodeURIComponent(subscriptionId)}`
  if (target.cursor === undefined) return path
  return `${path}?lastEventId=${encodeURIComponent(formatEventCursor(target.cursor))}`
}
