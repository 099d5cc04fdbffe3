/**
 * Store comparison: for each store and hub count, publish throughput and then fan-out, measured on
 * the same hubs, with the floor server (`floor-server.mjs`) as a baseline in the same run.
 *
 * Every case starts its hubs on a fresh store (a temporary SQLite file, a Redis key prefix or a
 * PostgreSQL schema), all pinned to CPU 0, and removes the store afterwards. Two load generator
 * runs follow, each pinned to CPU 1:
 *
 * 1. publish: `--publishers` requests in flight, round robin across the hubs, for
 *    `--publish-events` events, with one observing subscriber per hub that checks every event
 *    arrives once and in log order;
 * 2. fan-out: `--conns` subscribers spread evenly over the hubs, `--events` events published one
 *    after another, round robin across the hubs.
 *
 * Memory and SQLite stores cannot be shared by several hub processes, so those cases are listed as
 * not run. Prints two tables, then one JSON line per case.
 *
 * Run `npm run bench:stores -- --help` for the options.
 * @module
 */
import { existsSync } from 'node:fs'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { openBenchStore, STORE_SHORTHANDS, type StoreKind } from './bench-store.js'
import {
  cleanUpOnInterrupt,
  hardFileLimit,
  installExitHandlers,
  type ServerLog,
} from './child-processes.js'
import type { LoadResult } from './load-generator.js'
import { findProcessRoots } from './process-stats.js'
import {
  formatColumns,
  formatNumber,
  formatPercent,
  formatServerLog,
  listProblems,
} from './report-format.js'
import { runLoad } from './run-load.js'
import {
  createServerGroup,
  DEFAULT_HUB_CMD,
  FLOOR_CMD,
  MAX_HUBS,
  mergeLogs,
} from './server-group.js'

const HELP = `Usage: npm run bench:stores -- [options]

For each store and hub count: publish throughput with several publishers in flight, then fan-out
to many subscribers, on the same hubs. The floor server runs first as a baseline.

Options:
  --stores LIST          stores to compare, separated by commas
                         (default ${STORE_SHORTHANDS.join(',')})
  --hubs LIST            hub process counts, separated by commas (default 1,3); counts above 1
                         run only on redis and postgres
  --publish-events N     events of the publish measurement (default 20000)
  --publishers N         publish requests in flight in the publish measurement (default 8)
  --conns N              subscribers of the fan-out measurement (default 500)
  --events E             events of the fan-out measurement, published one after another
                         (default 2000)
  --payload BYTES        padding added to each event (default 64)
  --sample N             fan-out subscribers that parse every frame for latency and order
                         (default 50)
  --hub-cmd CMD          shell command that starts the hub on 127.0.0.1:$PORT with the store in
                         TIDINGS_STORE (default "${DEFAULT_HUB_CMD}")
  --phase-timeout-ms MS  time limit of each phase (start, connect, publish and deliver),
                         in ms (default 60000)
  --help                 show this text
`

interface StoresOptions {
  readonly stores: readonly StoreKind[]
  readonly hubCounts: readonly number[]
  readonly publishEvents: number
  readonly publishers: number
  readonly conns: number
  readonly events: number
  readonly payload: number
  readonly sample: number
  readonly hubCmd: string
  readonly phaseTimeoutMs: number
}

/** One row of the comparison: the floor, or one store with one hub count. */
interface CaseReport {
  /** `floor` or the store kind. */
  readonly name: string
  readonly hubs: number
  readonly command: string
  readonly storeUrl?: string
  /** One-minute load average when the case started. */
  readonly loadAverage: number
  readonly publish?: LoadResult
  readonly fanOut?: LoadResult
  /** Reason the case did not run. */
  readonly skipped?: string
  /** Failure that ended the case early. */
  readonly error?: string
  readonly serverLog?: ServerLog
  readonly cleanUp?: string
}

function readOptions(args: string[]): StoresOptions | undefined {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      stores: { type: 'string', default: STORE_SHORTHANDS.join(',') },
      hubs: { type: 'string', default: '1,3' },
      'publish-events': { type: 'string', default: '20000' },
      publishers: { type: 'string', default: '8' },
      conns: { type: 'string', default: '500' },
      events: { type: 'string', default: '2000' },
      payload: { type: 'string', default: '64' },
      sample: { type: 'string', default: '50' },
      'hub-cmd': { type: 'string', default: DEFAULT_HUB_CMD },
      'phase-timeout-ms': { type: 'string', default: '60000' },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) return undefined
  const toInteger = (name: string, raw: string, min: number, max: number): number => {
    const value = /^\d+$/.test(raw) ? Number(raw) : NaN
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new RangeError(`Invalid --${name} "${raw}"; expected an integer from ${min} to ${max}`)
    }
    return value
  }
  const integer = (name: keyof typeof values, min: number, max: number): number =>
    toInteger(name, String(values[name]), min, max)
  const stores = String(values.stores).split(',')
  for (const store of stores) {
    if (!(STORE_SHORTHANDS as readonly string[]).includes(store)) {
      throw new RangeError(`Invalid --stores entry "${store}"; expected ${STORE_SHORTHANDS}`)
    }
  }
  const conns = integer('conns', 1, 1_000_000)
  return {
    stores: stores as StoreKind[],
    hubCounts: String(values.hubs)
      .split(',')
      .map((raw) => toInteger('hubs', raw, 1, MAX_HUBS)),
    publishEvents: integer('publish-events', 1, 10_000_000),
    publishers: integer('publishers', 1, 1_000),
    conns,
    events: integer('events', 1, 10_000_000),
    payload: integer('payload', 0, 1_000_000),
    sample: integer('sample', 0, conns),
    hubCmd: String(values['hub-cmd']),
    phaseTimeoutMs: integer('phase-timeout-ms', 1_000, 3_600_000),
  }
}

/**
 * Starts the servers of one case, runs the publish and then the fan-out measurement on them, and
 * stops them. A failed phase is reported in `error`; a failed publish phase skips fan-out.
 */
async function measureCase(
  options: StoresOptions,
  name: string,
  command: string,
  servers: number,
  env: Readonly<Record<string, string>>,
  storePids: () => number[],
): Promise<Pick<CaseReport, 'publish' | 'fanOut' | 'error' | 'serverLog'>> {
  const group = createServerGroup({
    command,
    count: servers,
    env,
    startTimeoutMs: options.phaseTimeoutMs,
    label: name,
  })
  const label = servers > 1 ? `${name} x${servers}` : name
  let publish: LoadResult | undefined
  let fanOut: LoadResult | undefined
  try {
    await group.start()
    const common = {
      ports: group.ports,
      serverPids: group.pids,
      storePids: storePids(),
      payload: options.payload,
      phaseTimeoutMs: options.phaseTimeoutMs,
    }
    publish = await runLoad({
      ...common,
      // One observer per server, each getting every event from the shared log.
      conns: servers,
      sample: servers,
      events: options.publishEvents,
      publishers: options.publishers,
      label: `${label} publish`,
    })
    fanOut = await runLoad({
      ...common,
      conns: options.conns,
      sample: options.sample,
      events: options.events,
      publishers: 1,
      label: `${label} fan-out`,
    })
    return { publish, fanOut, serverLog: mergeLogs(group.logs) }
  } catch (err) {
    const error = (err as Error).message
    const done = { ...(publish ? { publish } : {}), ...(fanOut ? { fanOut } : {}) }
    return { ...done, error, serverLog: mergeLogs(group.logs) }
  } finally {
    await group.stop()
  }
}

async function runFloor(options: StoresOptions): Promise<CaseReport> {
  const loadAverage = loadavg()[0]!
  const measured = await measureCase(options, 'floor', FLOOR_CMD, 1, {}, () => [])
  return { name: 'floor', hubs: 1, command: FLOOR_CMD, loadAverage, ...measured }
}

async function runStore(
  options: StoresOptions,
  kind: StoreKind,
  hubs: number,
): Promise<CaseReport> {
  const store = openBenchStore(kind)
  const loadAverage = loadavg()[0]!
  const command = `TIDINGS_STORE=${store.url} ${options.hubCmd}`
  if (hubs > 1 && store.notShared !== undefined) {
    return { name: kind, hubs, command, loadAverage, skipped: `not run: ${store.notShared}` }
  }
  const forget = cleanUpOnInterrupt(() => store.cleanUp())
  let measured: Awaited<ReturnType<typeof measureCase>> | undefined
  try {
    measured = await measureCase(
      options,
      kind,
      options.hubCmd,
      hubs,
      { TIDINGS_STORE: store.url },
      () => (store.serverProcess === undefined ? [] : findProcessRoots(store.serverProcess)),
    )
  } finally {
    forget()
  }
  const cleanUp = await store.cleanUp().catch((err: unknown) => {
    process.exitCode = 1
    return `clean-up failed: ${(err as Error).message}`
  })
  return {
    name: kind,
    hubs,
    command,
    storeUrl: store.url,
    loadAverage,
    ...measured,
    ...(cleanUp === undefined ? {} : { cleanUp }),
  }
}

/** Describes the positions that the publish responses named. */
function formatPositions(result: LoadResult): string {
  if (result.positionDuplicates === null || result.positionHoles === null) return '-'
  if (result.positionDuplicates === 0 && result.positionHoles === 0) return 'ok'
  return `${result.positionDuplicates} dup, ${result.positionHoles} missing`
}

function formatPublishTable(reports: readonly CaseReport[]): string {
  const header = [
    'store',
    'servers',
    'accepted/s',
    'publish p50 ms',
    'publish p99 ms',
    'failed',
    'positions',
    'delivery p50 ms',
    'delivery p99 ms',
    'lost',
    'order',
    'server CPU',
    'store CPU',
    'loadgen CPU',
    'other CPU',
  ]
  const rows = reports.map((report) => {
    const result = report.publish
    const lead = [report.name, String(report.hubs)]
    if (!result) return [...lead, report.skipped ?? report.error ?? 'no result']
    return [
      ...lead,
      formatNumber(result.acceptedPerSec),
      formatNumber(result.publishP50Ms, 2),
      formatNumber(result.publishP99Ms, 2),
      formatNumber(result.publishFailures),
      formatPositions(result),
      formatNumber(result.latencyP50Ms, 2),
      formatNumber(result.latencyP99Ms, 2),
      formatNumber(result.lost),
      formatNumber(result.positionOrderErrors),
      formatPercent(result.serverCpuPct),
      formatPercent(result.storeCpuPct),
      formatPercent(result.loadCpuPct),
      formatPercent(result.otherCpuPct),
    ]
  })
  return formatColumns(header, rows)
}

function formatFanOutTable(reports: readonly CaseReport[]): string {
  const header = [
    'store',
    'servers',
    'deliveries/s',
    'p50 ms',
    'p99 ms',
    'publish p50 ms',
    'lost',
    'dup',
    'gaps',
    'order',
    'closed',
    'server CPU',
    'store CPU',
    'loadgen CPU',
    'other CPU',
  ]
  const rows = reports.map((report) => {
    const result = report.fanOut
    const lead = [report.name, String(report.hubs)]
    if (!result) return [...lead, report.skipped ?? report.error ?? 'no result']
    return [
      ...lead,
      formatNumber(result.deliveriesPerSec),
      formatNumber(result.latencyP50Ms, 2),
      formatNumber(result.latencyP99Ms, 2),
      formatNumber(result.publishP50Ms, 2),
      formatNumber(result.lost),
      formatNumber(result.duplicates),
      formatNumber(result.gaps),
      // With one publisher, log order is publish order, so both checks see the same events.
      formatNumber(Math.max(result.reordered, result.positionOrderErrors)),
      formatNumber(result.closedEarly),
      formatPercent(result.serverCpuPct),
      formatPercent(result.storeCpuPct),
      formatPercent(result.loadCpuPct),
      formatPercent(result.otherCpuPct),
    ]
  })
  return formatColumns(header, rows)
}

/** Lists the problems, errors and log lines of a case that ran. */
function formatCaseNotes(report: CaseReport): string[] {
  if (!report.serverLog) return []
  const label = report.hubs > 1 ? `${report.name} x${report.hubs}` : report.name
  const phases: [string, LoadResult | undefined][] = [
    ['publish', report.publish],
    ['fan-out', report.fanOut],
  ]
  const notes = phases.flatMap(([phase, result]) =>
    result ? listProblems(result).map((note) => `${label} ${phase}: ${note}`) : [],
  )
  if (report.error !== undefined) notes.push(`${label}: failed: ${report.error}`)
  notes.push(formatServerLog(label, report.serverLog))
  if (report.cleanUp !== undefined) notes.push(`${label} store: ${report.cleanUp}`)
  return notes
}

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2))
  if (!options) {
    process.stdout.write(HELP)
    return
  }
  if (options.hubCmd === DEFAULT_HUB_CMD) {
    if (!existsSync(new URL('../dist/cli/main.js', import.meta.url))) {
      throw new Error('dist/cli/main.js is missing; run "npm run build" first')
    }
  }
  const limit = hardFileLimit()
  if (options.conns + 64 > limit) {
    throw new RangeError(
      `--conns ${options.conns} needs about ${options.conns + 64} open files per process but the hard limit is ${limit}; lower --conns`,
    )
  }

  const startedAt = Date.now()
  const reports: CaseReport[] = [await runFloor(options)]
  for (const kind of options.stores) {
    for (const hubs of options.hubCounts) reports.push(await runStore(options, kind, hubs))
  }
  const seconds = Math.round((Date.now() - startedAt) / 1000)

  const out = [
    '',
    `Publish: ${options.publishEvents} events, ${options.publishers} publishers in flight, ` +
      `one observing subscriber per hub, ${options.payload} bytes of padding`,
    formatPublishTable(reports),
    '',
    `Fan-out: ${options.conns} subscribers, ${options.events} events published one after another, ` +
      `${options.payload} bytes of padding`,
    formatFanOutTable(reports),
    '',
    ...reports.flatMap(formatCaseNotes),
    `Run time: ${seconds} s`,
    '',
    ...reports.map((report) => JSON.stringify(report)),
  ]
  process.stdout.write(`${out.join('\n')}\n`)
  if (reports.some((report) => report.error !== undefined)) process.exitCode = 1
}

installExitHandlers()
main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`)
  process.exit(2)
})
