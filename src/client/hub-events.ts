/**
 * Data of the hub's events: the `ESTABLISHED_CONNECTION` event that starts every stream, which
 * names the subscription and reports whether it resumed, and the app's events after it.
 * @module
 */
import type { TidingsEvent } from './client-types.js'

/** Event type of the first event on every stream. */
export const ESTABLISHED_CONNECTION = 'ESTABLISHED_CONNECTION'

/** Data of the `ESTABLISHED_CONNECTION` event. */
export interface EstablishedConnection {
  readonly eventType: typeof ESTABLISHED_CONNECTION
  readonly subscriptionId: string
  /** Whether the stream continues the requested subscription, missed events first. */
  readonly resumed: boolean
  /**
   * Whether a resume was requested but could not be complete, so the app must reload its state.
   * The stream then carries live events only.
   */
  readonly reset: boolean
}

/** Reads the data of an `ESTABLISHED_CONNECTION` event, or returns `undefined` if it is not one. */
export function parseEstablishedConnection(data: string): EstablishedConnection | undefined {
  const value = parseJsonObject(data)
  if (value === undefined) return undefined
  const { eventType, subscriptionId, resumed, reset } = value
  if (eventType !== ESTABLISHED_CONNECTION) return undefined
  if (typeof subscriptionId !== 'string' || subscriptionId === '') return undefined
  if (typeof resumed !== 'boolean' || typeof reset !== 'boolean') return undefined
  return { eventType, subscriptionId, resumed, reset }
}

/** Reads the data of an app event, or returns `undefined` unless it has a string `eventType`. */
export function parseHubEvent(data: string): TidingsEvent | undefined {
  const value = parseJsonObject(data)
  if (value === undefined || typeof value['eventType'] !== 'string') return undefined
  return value as TidingsEvent
}

function parseJsonObject(data: string): Record<string, unknown> | undefined {
  let value: unknown
  try {
    value = JSON.parse(data)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  return value as Record<string, unknown>
}
