/**
 * Load generator of the fan-out benchmark. `fan-out.ts` runs it as its own process, pinned to the
 * CPU that the server under test does not use. It opens the subscribers, publishes the events one
 * after another, and prints one JSON line (a `LoadResult`) on stdout. Progress goes to stderr.
 *
 * Most subscribers are raw TCP sockets that only count event markers, so that reading costs far
 * less than sending. A small evenly spread sample uses node:http and parses every frame, to measure
 * latency and to check order. Publisher and readers share this process, so every publish time and
 * arrival time comes from the same monotonic clock (`process.hrtime`).
 *
 * Both servers must serve `GET /api/v1/sse` and accept `POST /api/v1/events` with a JSON body.
 * @module
 */
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import type { Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { listProcessTree, readCpuBusyMs, readCpuMs, readRssKiB } from './process-stats.js'
import {
  HOST,
  nowMs,
  openCountingSubscriber,
  SampledSubscriber,
  Tally,
  type PublishedBody,
} from './subscribers.js'

const PUBLISH_PATH = '/api/v1/events'
/** Connections being opened at the same time, well under Node's default listen backlog of 511. */
const CONNECT_CONCURRENCY = 100
/** Time after the last publish without any delivery after which the run stops waiting. */
const DRAIN_IDLE_MS = 5_000
/** Pause between the last connection and the second memory reading, for the server to settle. */
const SETTLE_MS = 500

/** Measurements of one run, which `fan-out.ts` prints. Times are in ms, memory in KiB. */
export interface LoadResult {
  readonly conns: number
  readonly events: number
  readonly payloadBytes: number
  readonly connected: number
  readonly connectFailures: number
  readonly connectMs: number
  readonly published: number
  readonly publishFailures: number
  /** Connected subscribers times the events requested with `--events`. */
  readonly expected: number
  readonly delivered: number
  /** Equals `expected - delivered`, so it is negative when duplicates outnumber losses. */
  readonly lost: number
  /** Time from the first publish to the last delivery. */
  readonly deliveryMs: number
  readonly deliveriesPerSec: number
  /** Time for the server to accept one publish request, median. */
  readonly publishP50Ms: number | null
  readonly latencyP50Ms: number | null
  readonly latencyP99Ms: number | null
  readonly latencyMaxMs: number | null
  readonly latencySamples: number
  readonly sampledConns: number
  /** Events the sampled subscribers received more than once. */
  readonly duplicates: number
  /** Events missing before the newest event each sampled subscriber received. */
  readonly gaps: number
  /** Events the sampled subscribers received after a newer one. */
  readonly reordered: number
  /** Subscribers whose stream ended or failed before the run did. */
  readonly closedEarly: number
  readonly rssBeforeKiB: number
  readonly rssConnectedKiB: number
  readonly rssPerConnKiB: number
  /** CPU time of the server over the delivery phase, in percent of one core. */
  readonly serverCpuPct: number
  /** CPU time of this process over the delivery phase, in percent of one core. */
  readonly loadCpuPct: number
  /**
   * Busy time of the two CPUs over the delivery phase that neither the server nor this process
   * used, in percent of one core. Other programs on the machine show up here.
   */
  readonly otherCpuPct: number
  /** Reason the wait for deliveries ended. */
  readonly finish: 'complete' | 'idle' | 'timeout' | 'not-started'
}

interface LoadOptions {
  readonly port: number
  readonly conns: number
  readonly events: number
  readonly payload: number
  readonly sample: number
  readonly serverPid: number
  readonly serverCpu: number
  readonly loadCpu: number
  readonly phaseTimeoutMs: number
  readonly label: string
}

function readOptions(args: string[]): LoadOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      port: { type: 'string' },
      conns: { type: 'string' },
      events: { type: 'string' },
      payload: { type: 'string' },
      sample: { type: 'string' },
      'server-pid': { type: 'string' },
      'server-cpu': { type: 'string' },
      'load-cpu': { type: 'string' },
      'phase-timeout-ms': { type: 'string' },
      label: { type: 'string', default: 'server' },
    },
  })
  const integer = (name: keyof typeof values, min: number): number => {
    const value = Number(values[name])
    if (!Number.isSafeInteger(value) || value < min) {
      throw new RangeError(`Invalid --${name} "${values[name]}"; expected an integer >= ${min}`)
    }
    return value
  }
  return {
    port: integer('port', 1),
    conns: integer('conns', 1),
    events: integer('events', 1),
    payload: integer('payload', 0),
    sample: integer('sample', 0),
    serverPid: integer('server-pid', 1),
    serverCpu: integer('server-cpu', 0),
    loadCpu: integer('load-cpu', 0),
    phaseTimeoutMs: integer('phase-timeout-ms', 1),
    label: String(values.label),
  }
}

function log(label: string, message: string): void {
  process.stderr.write(`${label}: ${message}\n`)
}

/** Returns the `p`th percentile by the nearest-rank method, or `null` without values. */
function percentile(sorted: Float64Array, p: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!
}

function round(value: number | null, digits: number): number | null {
  return value === null ? null : Number(value.toFixed(digits))
}

/** The open subscribers of a run. */
interface Subscribers {
  readonly sockets: Socket[]
  readonly sampled: SampledSubscriber[]
  readonly failures: number
  readonly timedOut: boolean
}

/**
 * Opens `options.conns` subscribers, at most `CONNECT_CONCURRENCY` at a time, until all are open or
 * the phase times out. Every `conns / sample`th one is a sampled subscriber.
 */
async function openSubscribers(
  options: LoadOptions,
  tally: Tally,
  latencies: number[],
): Promise<Subscribers> {
  const sockets: Socket[] = []
  const sampled: SampledSubscriber[] = []
  const readBuffer = Buffer.alloc(64 * 1024)
  const step = options.sample > 0 ? Math.floor(options.conns / options.sample) : 0
  const deadline = nowMs() + options.phaseTimeoutMs
  let next = 0
  let failures = 0
  let firstError: unknown
  const openNext = async (): Promise<void> => {
    while (next < options.conns && nowMs() < deadline) {
      const index = next++
      try {
        if (step > 0 && index % step === 0 && index / step < options.sample) {
          const subscriber = new SampledSubscriber(options.events, tally, latencies)
          await subscriber.open(options.port)
          sampled.push(subscriber)
        } else {
          sockets.push(await openCountingSubscriber(options.port, tally, readBuffer))
        }
      } catch (err) {
        failures++
        firstError ??= err
      }
    }
  }
  const workers = Array.from({ length: CONNECT_CONCURRENCY }, openNext)
  const timedOut = await Promise.race([
    Promise.all(workers).then(() => false),
    sleep(options.phaseTimeoutMs).then(() => true),
  ])
  if (firstError !== undefined) {
    log(options.label, `${failures} subscribers failed to open, first: ${String(firstError)}`)
  }
  return { sockets, sampled, failures, timedOut }
}

/** Sends one publish request and resolves with its status code once the response has ended. */
function post(port: number, agent: Agent, body: string, timeoutMs: number): Promise<number> {
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
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
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

interface PublishOutcome {
  readonly published: number
  readonly failures: number
  readonly startedAt: number
  readonly acceptMs: number[]
}

/**
 * Publishes the events one after another, each once the previous one is accepted. A request that
 * gets no response ends publishing, since the server is then most likely gone.
 */
async function publishAll(options: LoadOptions, deadline: number): Promise<PublishOutcome> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const padding = 'x'.repeat(options.payload)
  const acceptMs: number[] = []
  const startedAt = nowMs()
  let published = 0
  let failures = 0
  for (let seq = 1; seq <= options.events; seq++) {
    const remaining = deadline - nowMs()
    if (remaining <= 0) break
    const sentAt = nowMs()
    const event: PublishedBody = { eventType: 'BENCH', seq, sentAt, padding }
    try {
      const status = await post(options.port, agent, JSON.stringify(event), remaining)
      if (status >= 200 && status < 300) {
        published++
        acceptMs.push(nowMs() - sentAt)
      } else {
        failures++
      }
    } catch (err) {
      failures++
      log(options.label, `publishing stopped at event ${seq}: ${String(err)}`)
      break
    }
  }
  agent.destroy()
  return { published, failures, startedAt, acceptMs }
}

/** CPU times in ms, with the clock reading they were taken at. */
interface CpuReading {
  readonly serverMs: number
  readonly loadMs: number
  /** Busy time of the server's CPU and the load generator's CPU together. */
  readonly busyMs: number
  readonly at: number
}

function readCpu(options: LoadOptions, serverPids: readonly number[]): CpuReading {
  const usage = process.cpuUsage()
  return {
    serverMs: readCpuMs(serverPids),
    loadMs: (usage.user + usage.system) / 1000,
    busyMs: readCpuBusyMs(options.serverCpu) + readCpuBusyMs(options.loadCpu),
    at: nowMs(),
  }
}

interface DrainOutcome {
  readonly finish: 'complete' | 'idle' | 'timeout'
  /** Reading taken at the newest delivery seen while waiting. */
  readonly cpu: CpuReading
}

/**
 * Waits until every expected event has arrived, until nothing has arrived for `DRAIN_IDLE_MS`, or
 * until the deadline. Each time the count moves it reads the CPU times, so that the CPU figures
 * cover the time up to the last delivery and not the idle wait after a loss.
 */
async function waitForDeliveries(
  tally: Tally,
  expected: number,
  deadline: number,
  measure: () => CpuReading,
): Promise<DrainOutcome> {
  let progress = measure()
  let seen = tally.delivered
  while (tally.delivered < expected) {
    await sleep(20)
    if (tally.delivered !== seen) {
      seen = tally.delivered
      progress = measure()
    } else if (nowMs() - progress.at > DRAIN_IDLE_MS) {
      return { finish: 'idle', cpu: progress }
    }
    if (nowMs() > deadline) return { finish: 'timeout', cpu: progress }
  }
  return { finish: 'complete', cpu: measure() }
}

/** Returns the CPU use between two readings in percent of one core, or 0 without a second one. */
function cpuPercent(
  start: CpuReading,
  end: CpuReading | undefined,
  pick: (reading: CpuReading) => number,
): number {
  if (!end || end.at <= start.at) return 0
  return Math.round(((pick(end) - pick(start)) / (end.at - start.at)) * 100)
}

/** Reads the soft limit on open files of this process from `/proc/self/limits`. */
function openFileLimit(): number {
  const limits = readFileSync('/proc/self/limits', 'utf8')
  const match = /^Max open files\s+(\d+)/m.exec(limits)
  return match ? Number(match[1]) : Infinity
}

async function run(options: LoadOptions): Promise<LoadResult> {
  const limit = openFileLimit()
  if (options.conns + 64 > limit) {
    throw new RangeError(
      `--conns ${options.conns} needs about ${options.conns + 64} open files but the limit is ${limit}; lower --conns`,
    )
  }
  const serverPids = listProcessTree(options.serverPid)
  const rssBeforeKiB = readRssKiB(serverPids)
  const tally = new Tally()
  const latencies: number[] = []

  const connectStart = nowMs()
  const subscribers = await openSubscribers(options, tally, latencies)
  const connectMs = nowMs() - connectStart
  const connected = subscribers.sockets.length + subscribers.sampled.length
  log(options.label, `${connected} subscribers open in ${Math.round(connectMs)} ms`)
  await sleep(SETTLE_MS)
  const rssConnectedKiB = readRssKiB(serverPids)

  let publish: PublishOutcome = { published: 0, failures: 0, startedAt: nowMs(), acceptMs: [] }
  let drain: DrainOutcome | undefined
  const measure = (): CpuReading => readCpu(options, serverPids)
  const cpuStart = measure()
  // Anything counted before the first publish would not belong to this run's events.
  const deliveredBefore = tally.delivered
  if (!subscribers.timedOut && connected > 0) {
    const deadline = nowMs() + options.phaseTimeoutMs
    publish = await publishAll(options, deadline)
    drain = await waitForDeliveries(
      tally,
      deliveredBefore + connected * publish.published,
      deadline,
      measure,
    )
  }
  tally.stopping = true
  for (const socket of subscribers.sockets) socket.destroy()

  const delivered = tally.delivered - deliveredBefore
  const expected = connected * options.events
  const deliveryMs = delivered > 0 ? tally.lastDeliveryMs - publish.startedAt : 0
  const sortedLatencies = Float64Array.from(latencies).sort()
  const sortedAccept = Float64Array.from(publish.acceptMs).sort()
  const sum = (pick: (s: SampledSubscriber) => number): number =>
    subscribers.sampled.reduce((total, s) => total + pick(s), 0)
  return {
    conns: options.conns,
    events: options.events,
    payloadBytes: options.payload,
    connected,
    connectFailures: subscribers.failures,
    connectMs: Math.round(connectMs),
    published: publish.published,
    publishFailures: publish.failures,
    expected,
    delivered,
    lost: expected - delivered,
    deliveryMs: Math.round(deliveryMs),
    deliveriesPerSec: deliveryMs > 0 ? Math.round(delivered / (deliveryMs / 1000)) : 0,
    publishP50Ms: round(percentile(sortedAccept, 50), 3),
    latencyP50Ms: round(percentile(sortedLatencies, 50), 2),
    latencyP99Ms: round(percentile(sortedLatencies, 99), 2),
    latencyMaxMs: round(percentile(sortedLatencies, 100), 2),
    latencySamples: sortedLatencies.length,
    sampledConns: subscribers.sampled.length,
    duplicates: sum((s) => s.duplicates),
    gaps: sum((s) => s.gaps),
    reordered: sum((s) => s.reordered),
    closedEarly: tally.closedEarly,
    rssBeforeKiB,
    rssConnectedKiB,
    rssPerConnKiB:
      connected > 0 ? Number(((rssConnectedKiB - rssBeforeKiB) / connected).toFixed(2)) : 0,
    serverCpuPct: cpuPercent(cpuStart, drain?.cpu, (cpu) => cpu.serverMs),
    loadCpuPct: cpuPercent(cpuStart, drain?.cpu, (cpu) => cpu.loadMs),
    otherCpuPct: cpuPercent(cpuStart, drain?.cpu, (cpu) => cpu.busyMs - cpu.serverMs - cpu.loadMs),
    finish: drain?.finish ?? 'not-started',
  }
}

const options = readOptions(process.argv.slice(2))
run(options).then(
  (result) => {
    // Exit without waiting for the sampled streams to close; the server is stopped next anyway.
    process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0))
  },
  (err: unknown) => {
    log(options.label, `load generator failed: ${(err as Error).stack ?? String(err)}`)
    process.exit(1)
  },
)
