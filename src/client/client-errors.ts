/**
 * Errors of the client. Connection failures reach the app through `onError` as
 * `TidingsClientError`, and invalid options throw `InvalidClientOptionError` at creation.
 * @module
 */

/**
 * Kind of a connection failure.
 *
 * - `network`: the request failed, or the stream broke or ended before the hub confirmed it.
 * - `http`: the hub responded with an error status, or with something other than an event stream.
 * - `parse`: an event or the `ESTABLISHED_CONNECTION` event could not be read as the hub's JSON.
 */
export type ClientErrorKind = 'network' | 'http' | 'parse'

/** Details of a `TidingsClientError`. */
export interface ClientErrorDetails {
  /** HTTP status of the response, for `http` errors. */
  readonly status?: number
  /** The hub's error code from the JSON error body, such as `ERR_INVALID_SUBSCRIPTION_ID`. */
  readonly code?: string
  readonly cause?: unknown
}

/** A connection failure, as passed to `onError` and to state changes. */
export class TidingsClientError extends Error {
  readonly kind: ClientErrorKind
  /** HTTP status of the response, for `http` errors. */
  readonly status?: number
  /** The hub's error code from the JSON error body, when the hub sent one. */
  readonly code?: string

  constructor(kind: ClientErrorKind, message: string, details: ClientErrorDetails = {}) {
    super(message, 'cause' in details ? { cause: details.cause } : undefined)
    this.name = 'TidingsClientError'
    this.kind = kind
    if (details.status !== undefined) this.status = details.status
    if (details.code !== undefined) this.code = details.code
  }
}

/** An option of `createTidingsClient` with an invalid value. */
export class InvalidClientOptionError extends RangeError {
  readonly code = 'ERR_INVALID_OPTION'

  constructor(message: string) {
    super(message)
    this.name = 'InvalidClientOptionError'
  }
}

/** Quotes a value for an error message, cut to about 100 characters. */
export function quoteValue(value: unknown): string {
  if (typeof value !== 'string') return String(JSON.stringify(value) ?? value).slice(0, 100)
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value)
}
