/**
 * A raw SSE client for tests: node:http with no agent, the body fed to a spec-exact parser
 * (eventsource-parser) one byte at a time through a streaming UTF-8 decoder, so that every chunk
 * boundary a network can produce is exercised.
 */
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { createParser, type EventSourceMessage } from 'eventsource-parser'

/** One dispatched event, as a browser would see it. */
export interface ReceivedEvent {
  readonly id: string | undefined
  readonly event: string | undefined
  readonly data: string
  /** `data` parsed as JSON. */
  readonly json: any
}

/** An open test stream. */
export interface SseTestClient {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly events: ReceivedEvent[]
  readonly comments: string[]
  readonly retries: number[]
  /** Every byte of the body, decoded as UTF-8. */
  readonly raw: () => string
  /** Resolves when `count` events have arrived in total. */
  waitForEvents(count: number, timeoutMs?: number): Promise<ReceivedEvent[]>
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>
  /** Closes the connection from the client side. */
  close(): void
  /** Aborts the connection with a TCP reset, as a failing network does. */
  reset(): void
}

/** Options of `openSse`. */
export interface OpenSseOptions {
  readonly headers?: Record<string, string>
  /** Feed the parser one byte at a time. Default true. */
  readonly byteByByte?: boolean
  /** Called with each event as it arrives. */
  readonly onEvent?: (event: ReceivedEvent) => void
}

/** Opens `url` and resolves once the response head has arrived. */
export function openSse(url: string, options: OpenSseOptions = {}): Promise<SseTestClient> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      agent: false,
      headers: { accept: 'text/event-stream', ...options.headers },
    })
    req.on('error', reject)
    req.on('response', (res: IncomingMessage) => {
      const events: ReceivedEvent[] = []
      const comments: string[] = []
      const retries: number[] = []
      const decoder = new TextDecoder('utf-8')
      let raw = ''
      let waiters: (() => void)[] = []
      const parser = createParser({
        onEvent(message: EventSourceMessage) {
          let json: unknown
          try {
            json = JSON.parse(message.data)
          } catch {
            json = undefined
          }
          const received = { id: message.id, event: message.event, data: message.data, json }
          events.push(received)
          options.onEvent?.(received)
          for (const wake of waiters) wake()
        },
        onComment(comment: string) {
          comments.push(comment)
        },
        onRetry(ms: number) {
          retries.push(ms)
        },
      })
      const feed = (text: string): void => {
        raw += text
        if (text) parser.feed(text)
      }
      res.on('data', (chunk: Buffer) => {
        if (options.byteByByte === false) {
          feed(decoder.decode(chunk, { stream: true }))
          return
        }
        for (let i = 0; i < chunk.length; i++)
          feed(decoder.decode(chunk.subarray(i, i + 1), { stream: true }))
      })
      const ended = new Promise<void>((resolveEnd) => {
        res.on('end', () => {
          feed(decoder.decode())
          resolveEnd()
          for (const wake of waiters) wake()
        })
        res.on('close', () => resolveEnd())
        res.on('error', () => resolveEnd())
      })
      let finished = false
      void ended.then(() => {
        finished = true
      })
      const waitForEvents = (count: number, timeoutMs = 5_000): Promise<ReceivedEvent[]> =>
        new Promise((resolveWait, rejectWait) => {
          const check = (): boolean => {
            if (events.length >= count) {
              clearTimeout(timer)
              waiters = waiters.filter((w) => w !== wake)
              resolveWait(events.slice(0, count))
              return true
            }
            if (finished) {
              clearTimeout(timer)
              rejectWait(new Error(`stream ended after ${events.length} of ${count} events`))
              return true
            }
            return false
          }
          const wake = (): void => void check()
          const timer = setTimeout(() => {
            waiters = waiters.filter((w) => w !== wake)
            rejectWait(new Error(`timed out after ${events.length} of ${count} events`))
          }, timeoutMs)
          if (!check()) waiters.push(wake)
        })
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        comments,
        retries,
        raw: () => raw,
        waitForEvents,
        ended,
        close: () => req.destroy(),
        reset: () => {
          if (req.socket) req.socket.resetAndDestroy()
          else req.destroy()
        },
      })
    })
    req.end()
  })
}

/** Opens a stream and waits for its ESTABLISHED_CONNECTION event. */
export async function subscribe(
  url: string,
  options: OpenSseOptions = {},
): Promise<{ client: SseTestClient; subscriptionId: string; established: any }> {
  const client = await openSse(url, options)
  if (client.status !== 200)
    throw new Error(`subscribe failed with status ${client.status}: ${client.raw()}`)
  const [first] = await client.waitForEvents(1)
  return { client, subscriptionId: first!.json.subscriptionId as string, established: first!.json }
}

/** Returns the positions of the events after ESTABLISHED_CONNECTION, read from their ids. */
export function positionsOf(events: readonly ReceivedEvent[]): number[] {
  return events
    .filter((event) => event.json?.eventType !== 'ESTABLISHED_CONNECTION')
    .map((event) => Number(event.id?.split('.')[1]))
}
