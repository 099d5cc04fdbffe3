/**
 * Subscribers of the fan-out load generator, and the event body they expect.
 *
 * Counting subscribers read a raw socket and only count event markers, so that reading costs far
 * less than sending. Sampled subscribers parse every frame to measure latency and check order.
 * @module
 */
import { get, type IncomingMessage } from 'node:http'
import { connect, type Socket } from 'node:net'

/** Address that every server under test listens on. */
export const HOST = '127.0.0.1'
const SUBSCRIBE_PATH = '/api/v1/sse'

/**
 * Bytes that occur once in every published event and nowhere else in either server's stream, so
 * not in the response head, the chunk-size lines, the preamble or heartbeat comments.
 */
const MARKER = Buffer.from('"seq":')

/** Reads the monotonic clock in ms, with sub-microsecond resolution. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6
}

/** Delivery counts of every subscriber of the run. */
export class Tally {
  delivered = 0
  /** Arrival time of the newest delivery, in ms on the `nowMs` clock. */
  lastDeliveryMs = 0
  closedEarly = 0
  /** Set once the run ends, so that the sockets it closes do not count as closed early. */
  stopping = false

  add(count: number): void {
    this.delivered += count
    this.lastDeliveryMs = nowMs()
  }

  streamEnded(): void {
    if (!this.stopping) this.closedEarly++
  }
}

/** Counts the markers in `bytes`. No prefix of the marker is also its suffix, so none overlap. */
function countMarkers(bytes: Buffer): number {
  let count = 0
  for (let at = bytes.indexOf(MARKER); at !== -1; at = bytes.indexOf(MARKER, at + MARKER.length)) {
    count++
  }
  return count
}

/**
 * Counts markers in a byte stream that arrives in reads of any size. The last bytes of each read
 * are kept, so that a marker split between two reads is counted once.
 */
class MarkerCounter {
  readonly #carry = Buffer.alloc(MARKER.length - 1)
  #carryLength = 0

  count(bytes: Buffer): number {
    const keep = this.#carry.length
    let found = countMarkers(bytes)
    let joined: Buffer | undefined
    if (this.#carryLength > 0) {
      // A marker found here starts in the kept bytes and ends in this read, because neither part
      // is long enough to hold a whole marker.
      joined = Buffer.concat([this.#carry.subarray(0, this.#carryLength), bytes.subarray(0, keep)])
      found += countMarkers(joined)
    }
    if (bytes.length >= keep) {
      bytes.copy(this.#carry, 0, bytes.length - keep)
      this.#carryLength = keep
    } else {
      const tail = Buffer.concat([this.#carry.subarray(0, this.#carryLength), bytes])
      tail.copy(this.#carry, 0, Math.max(0, tail.length - keep))
      this.#carryLength = Math.min(keep, tail.length)
    }
    return found
  }
}

/**
 * Opens a subscriber on a raw socket. It resolves once the response head has arrived with status
 * 200, and from then on only counts event markers. Every such socket reads into `readBuffer`,
 * which is safe because each read is handled synchronously before the next one.
 */
export function openCountingSubscriber(
  port: number,
  tally: Tally,
  readBuffer: Buffer,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const counter = new MarkerCounter()
    let head = ''
    let streaming = false
    const onBytes = (bytes: Buffer): void => {
      if (streaming) {
        const found = counter.count(bytes)
        if (found > 0) tally.add(found)
        return
      }
      head += bytes.toString('latin1')
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      const statusLine = head.slice(0, head.indexOf('\r\n'))
      if (!/^HTTP\/1\.1 200 /.test(statusLine)) {
        socket.destroy()
        reject(new Error(`Subscribe request failed with "${statusLine}"`))
        return
      }
      streaming = true
      resolve(socket)
      // Body bytes that came in the same read as the end of the head. In latin1 one character is
      // one byte, so they are the read's last `bodyLength` bytes.
      const bodyLength = head.length - (end + 4)
      const found = counter.count(bytes.subarray(bytes.length - bodyLength))
      if (found > 0) tally.add(found)
    }
    const socket = connect({
      host: HOST,
      port,
      onread: {
        buffer: readBuffer,
        callback: (length) => {
          onBytes(readBuffer.subarray(0, length))
          return true
        },
      },
    })
    socket.setNoDelay(true)
    socket.on('connect', () => {
      socket.write(
        `GET ${SUBSCRIBE_PATH} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nAccept: text/event-stream\r\n\r\n`,
      )
    })
    socket.on('error', (err) => {
      if (!streaming) reject(err)
    })
    socket.on('close', () => {
      if (streaming) tally.streamEnded()
      else reject(new Error('Connection closed before the response head arrived'))
    })
  })
}

/** A subscriber that parses every frame, to record latency and check order by sequence number. */
export class SampledSubscriber {
  duplicates = 0
  /** Events that arrived after one with a higher `seq`, which is an error only with one publisher. */
  reordered = 0
  /**
   * Events whose log position, the number after the last `.` of the `id` field, was not above the
   * previous event's. The floor sends no ids, so this stays 0 there.
   */
  positionOrderErrors = 0
  #newest = 0
  #newestPosition = 0
  #text = ''
  /** `seen[seq]` is 1 once event `seq` has arrived. */
  readonly #seen: Uint8Array
  readonly #tally: Tally
  readonly #latencies: number[]

  constructor(events: number, tally: Tally, latencies: number[]) {
    this.#seen = new Uint8Array(events + 1)
    this.#tally = tally
    this.#latencies = latencies
  }

  /** Counts events missing before the newest one received. */
  get gaps(): number {
    let missing = 0
    for (let seq = 1; seq < this.#newest; seq++) if (this.#seen[seq] === 0) missing++
    return missing
  }

  open(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = get(
        {
          host: HOST,
          port,
          path: SUBSCRIBE_PATH,
          agent: false,
          headers: { accept: 'text/event-stream' },
        },
        (res: IncomingMessage) => {
          if (res.statusCode !== 200) {
            res.destroy()
            reject(new Error(`Subscribe request failed with status ${res.statusCode}`))
            return
          }
          res.setEncoding('utf8')
          res.on('data', (text: string) => this.#onText(text, nowMs()))
          res.on('close', () => this.#tally.streamEnded())
          res.on('error', () => {})
          resolve()
        },
      )
      req.on('error', reject)
    })
  }

  /** Parses the frames that `text` completes. Every event in them arrived at `arrivedAt`. */
  #onText(text: string, arrivedAt: number): void {
    this.#text += text
    let start = 0
    let end = this.#text.indexOf('\n\n')
    let found = 0
    while (end !== -1) {
      if (this.#onFrame(this.#text.slice(start, end), arrivedAt)) found++
      start = end + 2
      end = this.#text.indexOf('\n\n', start)
    }
    this.#text = this.#text.slice(start)
    if (found > 0) this.#tally.add(found)
  }

  /** Handles one frame and returns whether it was a published event. */
  #onFrame(frame: string, arrivedAt: number): boolean {
    const lines = frame.split('\n')
    const dataLine = lines.find((line) => line.startsWith('data: '))
    if (dataLine === undefined || !dataLine.includes('"seq":')) return false
    const { seq, sentAt } = JSON.parse(dataLine.slice('data: '.length)) as PublishedBody
    this.#latencies.push(arrivedAt - sentAt)
    const idLine = lines.find((line) => line.startsWith('id: '))
    if (idLine !== undefined) {
      const position = Number(idLine.slice(idLine.lastIndexOf('.') + 1))
      if (!(position > this.#newestPosition)) this.positionOrderErrors++
      else this.#newestPosition = position
    }
    if (this.#seen[seq] === 1) {
      this.duplicates++
    } else {
      this.#seen[seq] = 1
      if (seq < this.#newest) this.reordered++
      else this.#newest = seq
    }
    return true
  }
}

/** Body of each published event. */
export interface PublishedBody {
  readonly eventType: 'BENCH'
  /** Position in the run, from 1. */
  readonly seq: number
  /** Time the publish request was made, on the `nowMs` clock. */
  readonly sentAt: number
  readonly padding: string
}
