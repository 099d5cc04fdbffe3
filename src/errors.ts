/**
 * Errors of the hub. Every error has a stable `code` that callers, tests and the HTTP layer
 * branch on; messages are for people.
 * @module
 */

/** Base of every error the hub throws on purpose. */
export class TidingsError extends Error {
  /** Stable machine-readable code, such as `ERR_INVALID_EVENT`. */
  readonly code: string

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** An event that cannot be published: missing or invalid `eventType`, or not a JSON object. */
export class InvalidEventError extends TidingsError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_INVALID_EVENT', message, options)
  }
}

/** A request body that is not valid JSON. */
export class InvalidJsonError extends TidingsError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_INVALID_JSON', message, options)
  }
}

/** A request body whose content type is not JSON. */
export class UnsupportedMediaTypeError extends TidingsError {
  constructor(message: string) {
    super('ERR_UNSUPPORTED_MEDIA_TYPE', message)
  }
}

/** A request body larger than the configured limit. */
export class PayloadTooLargeError extends TidingsError {
  constructor(message: string) {
    super('ERR_PAYLOAD_TOO_LARGE', message)
  }
}

/** A request body or field that is well-formed JSON but does not have the expected shape. */
export class InvalidRequestError extends TidingsError {
  constructor(message: string) {
    super('ERR_INVALID_REQUEST', message)
  }
}

/** A subscription id that is not a UUID. */
export class InvalidSubscriptionIdError extends TidingsError {
  constructor(message: string) {
    super('ERR_INVALID_SUBSCRIPTION_ID', message)
  }
}

/** A `Last-Event-ID` header or `lastEventId` parameter that this hub did not issue. */
export class InvalidLastEventIdError extends TidingsError {
  constructor(message: string) {
    super('ERR_INVALID_LAST_EVENT_ID', message)
  }
}

/** A request for a path that has no route. */
export class RouteNotFoundError extends TidingsError {
  constructor(message: string) {
    super('ERR_ROUTE_NOT_FOUND', message)
  }
}

/** A request whose method the route does not support. */
export class MethodNotAllowedError extends TidingsError {
  /** Methods the route supports, for the `Allow` header. */
  readonly allowed: readonly string[]

  constructor(message: string, allowed: readonly string[]) {
    super('ERR_METHOD_NOT_ALLOWED', message)
    this.allowed = allowed
  }
}

/** A case id that no stored case has. */
export class CaseNotFoundError extends TidingsError {
  constructor(message: string) {
    super('ERR_CASE_NOT_FOUND', message)
  }
}

/** The store failed or cannot be reached, so nothing was stored. */
export class StoreUnavailableError extends TidingsError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_STORE_UNAVAILABLE', message, options)
  }
}

/** The hub is shutting down or closed and accepts no new work. */
export class HubClosedError extends TidingsError {
  constructor(message: string) {
    super('ERR_HUB_CLOSED', message)
  }
}

/** An option with an invalid value, reported where the option is given. */
export class InvalidOptionError extends RangeError {
  readonly code = 'ERR_INVALID_OPTION'

  constructor(message: string) {
    super(message)
    this.name = 'InvalidOptionError'
  }
}

/** Quotes a value for an error message, cut to about 100 characters. */
export function quoteForMessage(value: unknown): string {
  if (typeof value !== 'string') return String(JSON.stringify(value) ?? value).slice(0, 100)
  const cut = value.length > 100 ? `${value.slice(0, 100)}…` : value
  return JSON.stringify(cut)
}
