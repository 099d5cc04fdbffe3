/**
 * Options of `createTidingsClient`, their defaults, and their checks.
 * @module
 */
import { MAX_TIMER_DELAY_MS, type BackoffOptions, type JitterStrategy } from './backoff.js'
import { InvalidClientOptionError, quoteValue } from './client-errors.js'
import { parseEventCursor, type EventCursor } from './event-cursor.js'
import type { EventSourceConstructor } from './eventsource-transport.js'
import type { FetchFunction } from './fetch-transport.js'

/** Transport that reads the stream. */
export type TransportKind = 'auto' | 'eventsource' | 'fetch'

/** Options of `createTidingsClient`. Durations are in milliseconds. */
export interface TidingsClientOptions {
  /**
   * Base URL of the hub, such as `https://hub.example.com` or, in a browser, `/hub`. The client
   * appends `/api/v1/sse`. It must not contain a query or fragment.
   */
  readonly url: string
  /** Subscription to resume, as stored from `client.subscriptionId`. */
  readonly subscriptionId?: string | undefined
  /**
   * Id of the newest event the app has, as stored from `client.lastEventId`. It makes the first
   * resume exact and names the subscription, so `subscriptionId` may be left out.
   */
  readonly lastEventId?: string | undefined
  /** Sends cookies to a hub on another origin. Default false. */
  readonly withCredentials?: boolean | undefined
  /** Request headers, such as `Authorization`. Only the fetch transport can send them. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /**
   * `fetch` reads the stream with `fetch` and the client's parser, so headers, the HTTP status and
   * the hub's `retry` value are all available. `eventsource` uses the browser's `EventSource`,
   * which shows none of them, so it retries every rejected request and applies no `retry` floor.
   * `auto` (the default) picks `eventsource` when the runtime has one and no headers are set, and
   * `fetch` otherwise, as in Node 20.
   */
  readonly transport?: TransportKind | undefined
  /** Base of the reconnection backoff. Default 1,000. */
  readonly initialDelayMs?: number | undefined
  /**
   * Maximum delay the backoff draws. Default 30,000. The hub's `retry` value is a lower bound on
   * every delay, even above this one.
   */
  readonly maxDelayMs?: number | undefined
  /**
   * `full` (the default) draws each delay from 0 up to the exponential bound. `decorrelated`
   * draws from `initialDelayMs` up to three times the previous delay.
   */
  readonly jitter?: JitterStrategy | undefined
  /**
   * Connection attempts that may fail in a row before the client closes. Default `Infinity`, so a
   * transient failure is retried for as long as the client is open.
   */
  readonly maxAttempts?: number | undefined
  /** `fetch` to use instead of the global one, such as a wrapper that adds a proxy agent. */
  readonly fetch?: FetchFunction | undefined
  /** `EventSource` to use instead of the global one, such as a polyfill. */
  readonly EventSource?: EventSourceConstructor | undefined
}

/** Options after defaults and checks. @internal */
export interface ResolvedClientOptions {
  readonly baseUrl: string
  readonly subscriptionId: string | undefined
  readonly cursor: EventCursor | undefined
  readonly withCredentials: boolean
  readonly headers: Readonly<Record<string, string>>
  readonly transport:
    | { readonly kind: 'fetch'; readonly fetch: FetchFunction }
    | { readonly kind: 'eventsource'; readonly EventSource: EventSourceConstructor }
  readonly backoff: BackoffOptions
  readonly maxAttempts: number
}

/** Defaults of the client's options. */
export const CLIENT_DEFAULTS = Object.freeze({
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  jitter: 'full' as JitterStrategy,
  maxAttempts: Number.POSITIVE_INFINITY,
})

/**
 * Applies defaults and checks every option.
 * @internal
 * @throws {InvalidClientOptionError} naming the first invalid option.
 */
export function resolveClientOptions(options: TidingsClientOptions): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidClientOptionError('Missing options; expected an object with a url')
  }
  const baseUrl = resolveBaseUrl(options.url)
  const subscriptionId = optionalString(options.subscriptionId, 'subscriptionId')
  const lastEventId = optionalString(options.lastEventId, 'lastEventId')
  const cursor = lastEventId === undefined ? undefined : parseLastEventId(lastEventId)
  if (subscriptionId !== undefined && cursor && cursor.subscriptionId !== subscriptionId) {
    throw new InvalidClientOptionError(
      `Option lastEventId ${quoteValue(lastEventId)} belongs to another subscription than subscriptionId ${quoteValue(subscriptionId)}; pass values stored from the same client`,
    )
  }
  const headers = resolveHeaders(options.headers)
  const initialDelayMs = delayOption(
    options.initialDelayMs,
    'initialDelayMs',
    1,
    CLIENT_DEFAULTS.initialDelayMs,
  )
  const maxDelayMs = delayOption(
    options.maxDelayMs,
    'maxDelayMs',
    initialDelayMs,
    Math.max(initialDelayMs, CLIENT_DEFAULTS.maxDelayMs),
  )
  const jitter = options.jitter ?? CLIENT_DEFAULTS.jitter
  if (jitter !== 'full' && jitter !== 'decorrelated') {
    throw new InvalidClientOptionError(
      `Invalid option jitter ${quoteValue(jitter)}; expected "full" or "decorrelated"`,
    )
  }
  const maxAttempts = options.maxAttempts ?? CLIENT_DEFAULTS.maxAttempts
  if (
    typeof maxAttempts !== 'number' ||
    !(Number.isSafeInteger(maxAttempts) || maxAttempts === Number.POSITIVE_INFINITY) ||
    maxAttempts < 1
  ) {
    throw new InvalidClientOptionError(
      `Invalid option maxAttempts ${quoteValue(maxAttempts)}; expected a whole number of at least 1, or Infinity`,
    )
  }

  return {
    baseUrl,
    subscriptionId: cursor?.subscriptionId ?? subscriptionId,
    cursor,
    withCredentials: options.withCredentials === true,
    headers,
    transport: resolveTransport(options, Object.keys(headers).length > 0),
    backoff: { initialDelayMs, maxDelayMs, jitter },
    maxAttempts,
  }
}

function resolveBaseUrl(url: unknown): string {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new InvalidClientOptionError(
      `Invalid option url ${quoteValue(url)}; expected the hub's base URL, such as "https://hub.example.com"`,
    )
  }
  if (/[?#]/.test(url)) {
    throw new InvalidClientOptionError(
      `Invalid option url ${quoteValue(url)}; remove the query and fragment, the client adds the path and query itself`,
    )
  }
  // A relative URL resolves against the page; in Node there is none, so it must be absolute.
  const page = (globalThis as { location?: { href?: string } }).location?.href
  let protocol: string
  try {
    protocol = new URL(url, page).protocol
  } catch {
    throw new InvalidClientOptionError(
      `Invalid option url ${quoteValue(url)}; expected an absolute http(s) URL, or a path in a browser page`,
    )
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new InvalidClientOptionError(
      `Invalid option url ${quoteValue(url)}; expected an http: or https: URL`,
    )
  }
  return url.replace(/\/+$/, '')
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') {
    throw new InvalidClientOptionError(
      `Invalid option ${name} ${quoteValue(value)}; expected a non-empty string or no value`,
    )
  }
  return value
}

function parseLastEventId(lastEventId: string): EventCursor {
  const cursor = parseEventCursor(lastEventId)
  if (cursor === undefined) {
    throw new InvalidClientOptionError(
      `Invalid option lastEventId ${quoteValue(lastEventId)}; expected "<subscriptionId>.<position>" as stored from client.lastEventId`,
    )
  }
  return cursor
}

function resolveHeaders(headers: unknown): Readonly<Record<string, string>> {
  if (headers === undefined) return {}
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw new InvalidClientOptionError(
      `Invalid option headers ${quoteValue(headers)}; expected an object of header names to string values`,
    )
  }
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') {
      throw new InvalidClientOptionError(
        `Invalid value ${quoteValue(value)} of header ${quoteValue(name)}; header values must be strings`,
      )
    }
  }
  return { ...(headers as Record<string, string>) }
}

function delayOption(value: unknown, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InvalidClientOptionError(
      `Invalid option ${name} ${quoteValue(value)}; expected a whole number of milliseconds of at least ${min}`,
    )
  }
  if (value > MAX_TIMER_DELAY_MS) {
    throw new InvalidClientOptionError(
      `Invalid option ${name} ${value}; timers accept at most ${MAX_TIMER_DELAY_MS} ms`,
    )
  }
  return value
}

function resolveTransport(
  options: TidingsClientOptions,
  hasHeaders: boolean,
): ResolvedClientOptions['transport'] {
  const kind = options.transport ?? 'auto'
  if (kind !== 'auto' && kind !== 'eventsource' && kind !== 'fetch') {
    throw new InvalidClientOptionError(
      `Invalid option transport ${quoteValue(kind)}; expected "auto", "eventsource" or "fetch"`,
    )
  }
  const EventSource =
    options.EventSource ??
    (globalThis as { EventSource?: EventSourceConstructor }).EventSource ??
    undefined
  const fetchFunction =
    options.fetch ?? (typeof globalThis.fetch === 'function' ? globalThis.fetch : undefined)

  if (kind === 'eventsource' || (kind === 'auto' && EventSource && !hasHeaders)) {
    if (hasHeaders) {
      throw new InvalidClientOptionError(
        'Option headers needs the fetch transport, because EventSource cannot send headers; set transport to "fetch" or "auto"',
      )
    }
    if (!EventSource) {
      throw new InvalidClientOptionError(
        'Option transport "eventsource" needs an EventSource, and this runtime has none; pass the EventSource option or use "fetch"',
      )
    }
    return { kind: 'eventsource', EventSource }
  }
  if (!fetchFunction) {
    throw new InvalidClientOptionError(
      'The fetch transport needs fetch, and this runtime has none; pass the fetch option',
    )
  }
  return { kind: 'fetch', fetch: fetchFunction }
}
