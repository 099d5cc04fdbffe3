/**
 * Publishers of the load generator: a fixed number of concurrent publishers, each sending one
 * `POST /api/v1/events` at a time, to the servers in turn.
 * @module
 */
import { Agent, request } from 'node:http'
import { HOST, nowMs, type PublishedBody } from './subscribers.js'

const PUBLISH_PATH = '/api/v1/events'

/** Events to publish and the servers that receive them. */
export interface PublishOptions {
  /** Ports of the servers. Event `seq` goes to `ports[(seq - 1) % ports.length]`. */
  readonly ports: readonly number[]
  readonly events: number
  /** Length of the padding string in each event. */
  readonly payload: number
  /** Requests in flight at the same time, across all servers. */
  readonly publishers: number
  /** Receives progress and failure lines. */
  readonly log: (message: string) => void
}

/** Results of publishing. Times are in ms on the `nowMs` clock. */
export interface PublishOutcome {
  readonly published: number
  readonly failures: number
  readonly startedAt: number
  /** Arrival time of the last accepted response, or `startedAt` when none was accepted. */
  readonly endedAt: number
  /** Round trip of each accepted request. */
  readonly acceptMs: number[]
  /** Log positions that the servers returned for accepted events, in arrival order. */
  readonly positions: number[]
}

/** Status of a publish response, with the position its JSON body names, if any. */
interface PublishResponse {
  readonly status: number
  readonly position: number | undefined
  readonly body: string
}

function readPosition(body: string): number | undefined {
  try {
    const position = (JSON.parse(body) as { position?: unknown }).position
    return typeof position === 'number' ? position : undefined
  } catch {
    return undefined
  }
}

/** Sends one publish request and resolves once the response has ended. */
function post(
  port: number,
  agent: Agent,
  body: string,
  timeoutMs: number,
): Promise<PublishResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: HOST,
        port,
        path: PUBLISH_PATH,
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (part: string) => (text += part))
        res.on('end', () => {
          const status = res.statusCode ?? 0
          const accepted = status >= 200 && status < 300
          resolve({ status, position: accepted ? readPosition(text) : undefined, body: text })
        })
        res.on('error', reject)
      },
    )
    req.setTimeout(timeoutMs, () => {
      req.destroy(new Error(`Publish request timed out after ${timeoutMs} ms`))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * Publishes events 1 to `options.events` with `options.publishers` requests in flight. Each
 * publisher sends its next event once its previous request has a response, so with one publisher
 * the events go out strictly one after another. A response with an error status counts as a
 * failure. A request without any response ends all publishing, because the server is then most
 * likely gone.
 */
export async function publishAll(
  options: PublishOptions,
  deadline: number,
): Promise<PublishOutcome> {
  const agents = options.ports.map(
    () => new Agent({ keepAlive: true, maxSockets: options.publishers }),
  )
  const padding = 'x'.repeat(options.payload)
  const acceptMs: number[] = []
  const positions: number[] = []
  const startedAt = nowMs()
  let endedAt = startedAt
  let nextSeq = 1
  let published = 0
  let failures = 0
  let stopped = false
  const publishNext = async (): Promise<void> => {
    while (!stopped && nextSeq <= options.events) {
      const remaining = deadline - nowMs()
      if (remaining <= 0) return
      const seq = nextSeq++
      const server = (seq - 1) % options.ports.length
      const sentAt = nowMs()
      const event: PublishedBody = { eventType: 'BENCH', seq, sentAt, padding }
      try {
        const response = await post(
          options.ports[server]!,
          agents[server]!,
          JSON.stringify(event),
          remaining,
        )
        if (response.status >= 200 && response.status < 300) {
          published++
          endedAt = nowMs()
          acceptMs.push(endedAt - sentAt)
          if (response.position !== undefined) positions.push(response.position)
        } else {
          if (failures === 0) {
            options.log(
              `event ${seq} failed with status ${response.status}: ${response.body.slice(0, 300)}`,
            )
          }
          failures++
        }
      } catch (err) {
        failures++
        if (!stopped) options.log(`publishing stopped at event ${seq}: ${String(err)}`)
        stopped = true
      }
    }
  }
  await Promise.all(Array.from({ length: options.publishers }, publishNext))
  for (const agent of agents) agent.destroy()
  return { published, failures, startedAt, endedAt, acceptMs, positions }
}

/** Positions returned for more than one event, and positions missing inside the returned range. */
export interface PositionCheck {
  readonly duplicates: number
  /** Positions between the lowest and the highest returned that no response named. */
  readonly holes: number
}

/**
 * Checks that the returned positions are distinct and contiguous. Both counts are 0 when the store
 * gave every accepted event its own position and nothing else appended in between. Returns
 * `undefined` when no response named a position, as with the floor server.
 */
export function checkPositions(positions: readonly number[]): PositionCheck | undefined {
  if (positions.length === 0) return undefined
  const sorted = Float64Array.from(positions).sort()
  let distinct = 1
  for (let i = 1; i < sorted.length; i++) if (sorted[i] !== sorted[i - 1]) distinct++
  const span = sorted[sorted.length - 1]! - sorted[0]! + 1
  return { duplicates: positions.length - distinct, holes: span - distinct }
}
