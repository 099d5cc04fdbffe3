/**
 * JSON responses and the one mapping from error codes to HTTP statuses. Route handlers throw;
 * this module turns what they throw into a response.
 * @module
 */
import type { ServerResponse } from 'node:http'
import { MethodNotAllowedError, TidingsError } from '../errors.js'

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  ERR_INVALID_EVENT: 400,
  ERR_INVALID_JSON: 400,
  ERR_INVALID_REQUEST: 400,
  ERR_INVALID_SUBSCRIPTION_ID: 400,
  ERR_INVALID_LAST_EVENT_ID: 400,
  ERR_ROUTE_NOT_FOUND: 404,
  ERR_CASE_NOT_FOUND: 404,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_STORE_UNAVAILABLE: 503,
  ERR_HUB_CLOSED: 503,
}

/** Body of every error response. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string }
}

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  })
  res.end(text)
}

/** Returns the HTTP status for an error: its mapped code, or 500 for anything unexpected. */
export function statusOf(err: unknown): number {
  return err instanceof TidingsError ? (STATUS_BY_CODE[err.code] ?? 500) : 500
}

/**
 * Responds to a request with the error as JSON. Unexpected errors get a generic message, so that no
 * internal detail leaks to the client; the caller logs them.
 */
export function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const status = statusOf(err)
  const known = err instanceof TidingsError && status !== 500
  const body: ErrorBody = {
    error: known
      ? { code: err.code, message: err.message }
      : { code: 'ERR_INTERNAL', message: 'Internal error; the hub logged the details' },
  }
  const headers: Record<string, string> = {}
  if (err instanceof MethodNotAllowedError) headers['allow'] = err.allowed.join(', ')
  if (status === 503) headers['retry-after'] = '1'
  // The rest of an oversized body is not read, so the connection cannot carry another request.
  if (status === 413) headers['connection'] = 'close'
  sendJson(res, status, body, headers)
}
