/**
 * Reads an event stream with `fetch` and the client's own parser. Browsers and Node 20 both have
 * `fetch`, and unlike `EventSource` it can send headers and shows the status of a failed request.
 * @module
 */
import { TidingsClientError } from './client-errors.js'
import { SseParser } from './sse-parser.js'
import type { Connection, ConnectionFailure, ConnectionHandlers, Transport } from './transport.js'

/** The part of `fetch` the client calls. */
export type FetchFunction = (url: string, init: RequestInit) => Promise<Response>

/** Settings of the fetch transport. */
export interface FetchTransportOptions {
  readonly fetch: FetchFunction
  readonly headers: Readonly<Record<string, string>>
  /** Sends cookies cross-origin too (`credentials: 'include'`), as `withCredentials` does. */
  readonly withCredentials: boolean
}

/** Maximum number of bytes read from an error response to find the hub's JSON error. */
const MAX_ERROR_BODY_BYTES = 16 * 1024

/** Creates a transport that opens each connection with one `fetch` request. */
export function createFetchTransport(options: FetchTransportOptions): Transport {
  return (url, handlers) => openFetchConnection(options, url, handlers)
}

function openFetchConnection(
  options: FetchTransportOptions,
  url: string,
  handlers: ConnectionHandlers,
): Connection {
  const controller = new AbortController()
  let ended = false

  // Every way out aborts the request, so an unread response body cannot keep a socket open.
  const end = (failure: ConnectionFailure | undefined): void => {
    if (ended) return
    ended = true
    controller.abort()
    handlers.onEnd(failure)
  }

  // Called without a receiver: browsers throw "Illegal invocation" when the global fetch is
  // called as a method of another object, such as the options.
  const fetchFunction = options.fetch
  // The client adds only CORS-safelisted headers, so a cross-origin hub needs no preflight unless
  // the app adds headers. `cache: 'no-store'` is what EventSource uses in place of a
  // `Cache-Control` header. Node 20's RequestInit type lacks `cache`, but its fetch accepts it.
  const init: RequestInit & { readonly cache: 'no-store' } = {
    headers: { accept: 'text/event-stream', ...options.headers },
    credentials: options.withCredentials ? 'include' : 'same-origin',
    cache: 'no-store',
    signal: controller.signal,
  }

  const read = async (): Promise<void> => {
    let response: Response
    try {
      response = await fetchFunction(url, init)
    } catch (cause) {
      end(networkFailure('The subscribe request failed before the hub responded', cause))
      return
    }
    if (ended) return

    const rejection = await checkResponse(response)
    if (rejection !== undefined) {
      end(rejection)
      return
    }
    if (response.body === null) {
      end(networkFailure('The hub responded 200 without a body', undefined))
      return
    }

    const parser = new SseParser({
      onEvent: (message) => {
        if (!ended) handlers.onMessage(message)
      },
      onRetry: (delayMs) => {
        if (!ended) handlers.onRetry(delayMs)
      },
    })
    const reader = response.body.getReader()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (ended) return
        if (done) break
        parser.feed(value)
      }
    } catch (cause) {
      end(networkFailure('The event stream broke', cause))
      return
    }
    parser.end()
    end(undefined)
  }

  void read()
  return {
    close() {
      ended = true
      controller.abort()
    },
    listen() {
      // Every event reaches the parser, named or not.
    },
  }
}

function networkFailure(message: string, cause: unknown): ConnectionFailure {
  return { error: new TidingsClientError('network', message, { cause }), permanent: false }
}

/**
 * Returns why a response is not an event stream, or `undefined` when it is one.
 *
 * [spec] Only status 200 with type `text/event-stream` opens a stream, and a browser's
 * `EventSource` does not retry other responses. Note: not in the spec. 5xx, 408 and 429 are
 * retried here, because the hub responds 503 while it shuts down or its store is unavailable.
 */
async function checkResponse(response: Response): Promise<ConnectionFailure | undefined> {
  const { status } = response
  const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]?.trim()
  if (status === 200 && mediaType?.toLowerCase() === 'text/event-stream') return undefined

  if (status === 200) {
    return {
      error: new TidingsClientError(
        'http',
        `The hub responded 200 with content type "${mediaType}" instead of text/event-stream; check that the url option points at the hub`,
        { status },
      ),
      permanent: true,
    }
  }
  const hubError = await readHubError(response)
  const codePart = hubError.code === undefined ? '' : ` (${hubError.code})`
  const messagePart = hubError.message === undefined ? '' : `: ${hubError.message}`
  const transient = status >= 500 || status === 408 || status === 429
  const retryAfterMs = transient ? parseRetryAfter(response.headers.get('retry-after')) : undefined
  return {
    error: new TidingsClientError(
      'http',
      `The subscribe request failed with HTTP ${status}${codePart}${messagePart}`,
      { status, ...(hubError.code === undefined ? {} : { code: hubError.code }) },
    ),
    permanent: !transient,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  }
}

/** Reads `{"error":{"code","message"}}` from an error response, or returns `{}` for another body. */
async function readHubError(response: Response): Promise<{ code?: string; message?: string }> {
  let text: string
  try {
    text = await readLimitedText(response, MAX_ERROR_BODY_BYTES)
  } catch {
    return {}
  }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return {}
  }
  const error = (body as { error?: unknown } | null)?.error as Record<string, unknown> | undefined
  const result: { code?: string; message?: string } = {}
  if (typeof error?.['code'] === 'string') result.code = error['code']
  if (typeof error?.['message'] === 'string') result.message = error['message']
  return result
}

async function readLimitedText(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return ''
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  let text = ''
  let bytes = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return text + decoder.decode()
    bytes += value.byteLength
    text += decoder.decode(value, { stream: true })
    if (bytes > maxBytes) {
      await reader.cancel()
      return text
    }
  }
}

/** Parses `Retry-After` as seconds or an HTTP date, in milliseconds from now. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined
  const trimmed = value.trim()
  if (/^[0-9]+$/.test(trimmed)) return Number(trimmed) * 1000
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - Date.now())
}
