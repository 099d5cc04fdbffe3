/**
 * Start position of a new connection in the log. Pure, so every rule can be tested alone.
 * @module
 */
import type { LogBounds, SubscriptionRecord } from '../store/event-store.js'
import type { EventCursor } from '../wire/event-id.js'

/** The client's statement of where it left off. */
export interface ResumeRequest {
  /** Subscription id from the path, as a Valtimo client sends it. */
  readonly subscriptionId?: string
  /** Parsed `Last-Event-ID` header or `lastEventId` query parameter: the exact position. */
  readonly lastEventId?: EventCursor
}

/** Hub state of the subscription named by the request. */
export interface ResumeContext {
  /** The stored record, `undefined` when none exists or it expired. */
  readonly record: SubscriptionRecord | undefined
  /** Position written by a connection of this subscription that is still open in this process. */
  readonly openConnectionPosition: number | undefined
  readonly bounds: LogBounds
  /** Events to replay before the recorded position after a break that was not clean. */
  readonly uncleanResumeWindow: number
}

/** Reason a requested resume could not be complete. */
export type ResetReason = 'subscription-not-found' | 'events-trimmed' | 'position-ahead'

/** Start of the connection: new, reset, or resumed from a position. */
export type ResumePlan =
  | { readonly kind: 'new' }
  | { readonly kind: 'reset'; readonly reason: ResetReason; readonly subscriptionId?: string }
  | { readonly kind: 'resume'; readonly subscriptionId: string; readonly fromPosition: number }

/** Returns the subscription id the request resumes: `Last-Event-ID` names it before the path. */
export function requestedSubscriptionId(request: ResumeRequest): string | undefined {
  return request.lastEventId?.subscriptionId ?? request.subscriptionId
}

/**
 * Decides where a connection starts.
 *
 * - `Last-Event-ID` is the exact position the client has, so the resume is exact.
 * - By path id alone the hub only has its record of what it wrote. After a clean close that is what arrived.
 *   Otherwise (the connection is still open, or it failed) the last events written may sit in a
 *   dead socket, so the replay starts `uncleanResumeWindow` events earlier: duplicates, which
 *   carry the same ids, instead of a loss. The window never reaches below the subscription's
 *   start, because the subscriber never had those events.
 * - A start below the retained log, or beyond its head, cannot be complete: reset.
 */
export function planResume(request: ResumeRequest, context: ResumeContext): ResumePlan {
  const subscriptionId = requestedSubscriptionId(request)
  if (subscriptionId === undefined) return { kind: 'new' }

  const { record, bounds } = context
  if (!record) return { kind: 'reset', reason: 'subscription-not-found' }

  let fromPosition: number
  let exact: boolean
  if (request.lastEventId) {
    fromPosition = request.lastEventId.position
    exact = true
  } else if (context.openConnectionPosition !== undefined) {
    fromPosition = context.openConnectionPosition
    exact = false
  } else {
    fromPosition = record.position
    exact = record.connectionState === 'closed'
  }

  if (fromPosition < bounds.trimmedThrough) {
    return { kind: 'reset', reason: 'events-trimmed', subscriptionId }
  }
  if (fromPosition > bounds.head) {
    return { kind: 'reset', reason: 'position-ahead', subscriptionId }
  }
  if (!exact) {
    const floor = Math.max(bounds.trimmedThrough, record.startPosition)
    fromPosition = Math.max(floor, fromPosition - context.uncleanResumeWindow)
  }
  return { kind: 'resume', subscriptionId, fromPosition }
}
