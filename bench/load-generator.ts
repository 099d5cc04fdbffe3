/**
 * Load generator of the benchmarks. `fan-out.ts` and `stores.ts` run it as its own process, pinned
 * to the CPU that the servers under test do not use. It opens the subscribers, spread evenly over
 * the servers, publishes the events round robin across the servers with a fixed number of
 * publishers in flight, and prints one JSON line (a `LoadResult`) on stdout. Progress goes to
 * stderr.
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
import type { Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { listProcessTree, readCpuBusyMs, readCpuMs, readRssKiB } from './process-stats.js'
import { checkPositions, publishAll, type PublishOutcome } from './publishers.js'
import { nowMs, openCountingSubscriber, SampledSubscriber, Tally } from './subscribers.js'

/** Connections being opened at the same time, well under Node's default listen backlog of 511. */
const CONNECT_CONCURRENCY = 100
/** Time after the last publish without any delivery after which the run stops waiting. */
const DRAIN_IDLE_MS = 5_000
/** Pause between the last connection and the second memory reading, for the server to settle. */
const SETTLE_MS = 500
/**
 * Minimum time between two listings of the store server's processes. PostgreSQL forks a process
 * per connection, so the list is read again during the run, but not at every CPU reading.
 */
const STORE_PIDS_REFRESH_MS = 200

/** Measurements of one run, which `fan-out.ts` and `stores.ts` print. Times in ms, memory in KiB. */
export interface LoadResult {
  readonly conns: number
  readonly events: number
  readonly payloadBytes: number
  /** Servers the subscribers and publish requests were spread over. */
  readonly servers: number
  /** Publish requests in flight at the same time. */
  readonly publishers: number
  readonly connected: number
  readonly connectFailures: number
  readonly connectMs: number
  readonly published: number
  readonly publishFailures: number
  /** Time from the first publish request to the last accepted response. */
  readonly publishMs: number
  /** Accepted publish requests per second over `publishMs`. */
  readonly acceptedPerSec: number
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
  readonly publishP99Ms: number | null
  /** Accepted events whose response named a log position. The floor names none. */
  readonly positionsReturned: number
  /** Positions named in more than one response, or `null` without positions. */
  readonly positionDuplicates: number | null
  /** Positions missing between the lowest and highest named, or `null` without positions. */
  readonly positionHoles: number | null
  readonly latencyP50Ms: number | null
  readonly latencyP99Ms: number | null
  readonly latencyMaxMs: number | null
  readonly latencySamples: number
  readonly sampledConns: number
  /** Events the sampled subscribers received more than once. */
  readonly duplicates: number
  /** Events missing before the newest event each sampled subscriber received. */
  readonly gaps: number
  /**
   * Events the sampled subscribers received after one with a higher `seq`. Only an error with one
   * publisher, because concurrent publishers race to the store.
   */
  readonly reordered: number
  /** Events the sampled subscribers received with a log position not above the previous one. */
  readonly positionOrderErrors: number
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
   * CPU time of the store's server processes (`--store-pids` and their children) over the delivery
   * phase, in percent of one core, or `null` without such processes. Work that other clients of
   * the same server cause counts too.
   */
  readonly storeCpuPct: number | null
  /**
   * Busy time of the two CPUs over the delivery phase that the servers, the store's server and
   * this process did not use, in percent of one core. Other programs show up here.
   */
  readonly otherCpuPct: number
  /** Reason the wait for deliveries ended. */
  readonly finish: 'complete' | 'idle' | 'timeout' | 'not-started'
}

interface LoadOptions {
  readonly ports: readonly number[]
  readonly conns: number
  readonly events: number
  readonly payload: number
  readonly sample: number
  readonly publishers: number
  readonly serverPids: readonly number[]
  readonly storePids: readonly number[]
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
      ports: { type: 'string' },
      conns: { type: 'string' },
      events: { type: 'string' },
      payload: { type: 'string' },
      sample: { type: 'string' },
      publishers: { type: 'string', default: '1' },
      'server-pids': { type: 'string' },
      'store-pids': { type: 'string', default: '' },
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
  const integers = (name: keyof typeof values, min: number): number[] => {
    const raw = String(values[name] ?? '')
    const list = raw === '' ? [] : raw.split(',').map(Number)
    if (list.some((value) => !Number.isSafeInteger(value) || value < min)) {
      throw new RangeError(
        `Invalid --${name} "${raw}"; expected integers >= ${min}, separated by commas`,
      )
    }
    return list
  }
  const ports = integers('ports', 1)
  if (ports.length === 0) throw new RangeError('Missing --ports; expected at least one port')
  return {
    ports,
    conns: integer('conns', 0),
    events: integer('events', 1),
    payload: integer('payload', 0),
    sample: integer('sample', 0),
    publishers: integer('publishers', 1),
    serverPids: integers('server-pids', 1),
    storePids: integers('store-pids', 1),
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
 * the phase times out. Every `conns / sample`th one is a sampled subscriber. The subscribers are
 * split into one contiguous block per server, so the evenly spread sample covers every server.
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
      const port = options.ports[Math.floor((index * options.ports.length) / options.conns)]!
      try {
        if (step > 0 && index % step === 0 && index / step < options.sample) {
          const subscriber = new SampledSubscriber(options.events, tally, latencies)
          await subscriber.open(port)
          sampled.push(subscriber)
        } else {
          sockets.push(await openCountingSubscriber(port, tally, readBuffer))
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

/**
 * The store server's processes: the given roots and their children, listed again at most every
 * `STORE_PIDS_REFRESH_MS`. A process that starts during the run counts with its whole CPU time,
 * which all falls within the run.
 * NOTE: a process that exits during the run takes its CPU time with it, so the store figure can
 * come out low when the server ends connections mid-run.
 */
class StoreProcesses {
  readonly #roots: readonly number[]
  #pids: number[] = []
  #listedAt = -Infinity

  constructor(roots: readonly number[]) {
    this.#roots = roots
  }

  get isEmpty(): boolean {
    return this.#roots.length === 0
  }

  /** Returns the CPU time of the processes in ms. */
  cpuMs(): number {
    if (this.#roots.length === 0) return 0
    const now = nowMs()
    if (now - this.#listedAt >= STORE_PIDS_REFRESH_MS) {
      this.#pids = this.#roots.flatMap((root) => listProcessTree(root))
      this.#listedAt = now
    }
    return readCpuMs(this.#pids)
  }
}

/** CPU times in ms, with the clock reading they were taken at. */
interface CpuReading {
  readonly serverMs: number
  readonly storeMs: number
  readonly loadMs: number
  /** Busy time of the server's CPU and the load generator's CPU together. */
  readonly busyMs: number
  readonly at: number
}

function readCpu(
  options: LoadOptions,
  serverPids: readonly number[],
  store: StoreProcesses,
): CpuReading {
  const usage = process.cpuUsage()
  return {
    serverMs: readCpuMs(serverPids),
    storeMs: store.cpuMs(),
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
  const serverPids = options.serverPids.flatMap((pid) => listProcessTree(pid))
  const store = new StoreProcesses(options.storePids)
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

  const notStarted = nowMs()
  let publish: PublishOutcome = {
    published: 0,
    failures: 0,
    startedAt: notStarted,
    endedAt: notStarted,
    acceptMs: [],
    positions: [],
  }
  let drain: DrainOutcome | undefined
  const measure = (): CpuReading => readCpu(options, serverPids, store)
  const cpuStart = measure()
  // Anything counted before the first publish would not belong to this run's events.
  const deliveredBefore = tally.delivered
  // With --conns 0 only publishing is measured; otherwise a run without subscribers is a failure.
  if (!subscribers.timedOut && (connected > 0 || options.conns === 0)) {
    const deadline = nowMs() + options.phaseTimeoutMs
    const logProgress = (message: string): void => log(options.label, message)
    publish = await publishAll({ ...options, log: logProgress }, deadline)
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
  const publishMs = publish.endedAt - publish.startedAt
  const positions = checkPositions(publish.positions)
  const sum = (pick: (s: SampledSubscriber) => number): number =>
    subscribers.sampled.reduce((total, s) => total + pick(s), 0)
  return {
    conns: options.conns,
    events: options.events,
    payloadBytes: options.payload,
    servers: options.ports.length,
    publishers: options.publishers,
    connected,
    connectFailures: subscribers.failures,
    connectMs: Math.round(connectMs),
    published: publish.published,
    publishFailures: publish.failures,
    publishMs: Math.round(publishMs),
    acceptedPerSec: publishMs > 0 ? Math.round(publish.published / (publishMs / 1000)) : 0,
    expected,
    delivered,
    lost: expected - delivered,
    deliveryMs: Math.round(deliveryMs),
    deliveriesPerSec: deliveryMs > 0 ? Math.round(delivered / (deliveryMs / 1000)) : 0,
    publishP50Ms: round(percentile(sortedAccept, 50), 3),
    publishP99Ms: round(percentile(sortedAccept, 99), 3),
    positionsReturned: publish.positions.length,
    positionDuplicates: positions?.duplicates ?? null,
    positionHoles: positions?.holes ?? null,
    latencyP50Ms: round(percentile(sortedLatencies, 50), 2),
    latencyP99Ms: round(percentile(sortedLatencies, 99), 2),
    latencyMaxMs: round(percentile(sortedLatencies, 100), 2),
    latencySamples: sortedLatencies.length,
    sampledConns: subscribers.sampled.length,
    duplicates: sum((s) => s.duplicates),
    gaps: sum((s) => s.gaps),
    reordered: sum((s) => s.reordered),
    positionOrderErrors: sum((s) => s.positionOrderErrors),
    closedEarly: tally.closedEarly,
    rssBeforeKiB,
    rssConnectedKiB,
    rssPerConnKiB:
      connected > 0 ? Number(((rssConnectedKiB - rssBeforeKiB) / connected).toFixed(2)) : 0,
    serverCpuPct: cpuPercent(cpuStart, drain?.cpu, (cpu) => cpu.serverMs),
    loadCpuPct: cpuPercent(cpuStart, drain?.cpu, (cpu) => cpu.loadMs),
    storeCpuPct: store.isEmpty ? null : cpuPercent(cpuStart, drain?.cpu, (cpu) => cpu.storeMs),
    otherCpuPct: cpuPercent(
      cpuStart,
      drain?.cpu,
      (cpu) => cpu.busyMs - cpu.serverMs - cpu.storeMs - cpu.loadMs,
    ),
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
