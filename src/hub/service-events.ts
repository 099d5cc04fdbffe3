/**
 * Lifecycle events of `SseSubscriptionService`, for logs and metrics.
 * @module
 */
import type { ConnectionState } from '../store/event-store.js'
import type { ResetReason } from './resume-plan.js'
import type { DisconnectReason } from './subscriber-connection.js'

/** Payload of the `connected` lifecycle event. */
export interface ConnectedInfo {
  readonly subscriptionId: string
  readonly connectionId: number
  readonly resumed: boolean
  readonly reset: boolean
  readonly resetReason?: ResetReason
  readonly fromPosition: number
  /** Events between the start position and the newest dispatched one. */
  readonly missedEvents: number
  readonly openConnections: number
}

/** Payload of the `disconnected` lifecycle event. */
export interface DisconnectedInfo {
  readonly subscriptionId: string
  readonly connectionId: number
  readonly reason: DisconnectReason
  readonly connectionState: ConnectionState
  readonly durationMs: number
  readonly eventsSent: number
  readonly openConnections: number
}

/** Payload of the `failed` lifecycle event: an error that no caller could receive. */
export interface HubFailure {
  readonly kind: 'replay' | 'tail' | 'position-flush' | 'maintenance' | 'close-record'
  readonly err: unknown
  readonly subscriptionId?: string
}

/** Payload of the `maintained` lifecycle event. */
export interface MaintenanceInfo {
  readonly trimmedEvents: number
  readonly expiredSubscriptions: number
}

/** Lifecycle events of the service. */
export interface SseSubscriptionServiceEvents {
  connected: [ConnectedInfo]
  disconnected: [DisconnectedInfo]
  failed: [HubFailure]
  maintained: [MaintenanceInfo]
}
