/**
 * Fan-out benchmark: N subscribers, E events published one after another, measured on the hub and
 * on a minimal node:http broadcaster (the floor) in the same run.
 *
 * Each server runs as a child process pinned to CPU 0, one after the other. With `--hubs` above 1,
 * that many hub processes share one store, all on CPU 0: the subscribers are spread evenly over
 * them and the events are published to each in turn. The load generator (`load-generator.ts`) runs
 * as another child, pinned to CPU 1. Every phase has a timeout, after which the run reports what it
 * has and stops the children. Prints a table, then one JSON line per target.
 *
 * Run `npm run bench -- --help` for the options.
 * @module
 */
import { existsSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { openBenchStore, type BenchStore } from './bench-store.js'
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

const HELP = `Usage: npm run bench -- [options]

Opens N subscribers on each server, publishes E events and prints deliveries per second,
publish-to-delivery latency, server memory per connection and lost events.

Options:
  --conns N              subscribers per server (default 2000); 0 measures publishing alone
  --events E             events to publish (default 500)
  --payload BYTES        padding added to each event (default 64)
  --sample N             subscribers that parse every frame for latency and order (default 50)
  --publishers N         publish requests in flight at the same time (default 1: one after
                         another)
  --target T             hub, floor or both (default both)
  --store S              store of the hub: memory, sqlite, redis, postgres or a store URL
                         (default memory). sqlite, redis and postgres use a fresh temporary file,
                         Redis key prefix on 127.0.0.1:6379 or schema in postgres://postgres@
                         127.0.0.1:5432/test, removed after the run. The hub gets it through
                         TIDINGS_STORE, which a --store flag in --hub-cmd overrides
  --hubs N               hub processes sharing the store, all on CPU 0 (default 1). Above 1
                         needs redis or postgres. The floor always runs as one process
  --hub-cmd CMD          shell command that starts the hub on 127.0.0.1:$PORT
                         (default "${DEFAULT_HUB_CMD}")
  --phase-timeout-ms MS  time limit of each phase (start, connect, publish and deliver),
                         in ms (default 60000)
  --help                 show this text
`

type Target = 'hub' | 'floor'

interface BenchOptions {
  readonly conns: number
  readonly events: number
  readonly payload: number
  readonly sample: number
  readonly publishers: number
  readonly targets: readonly Target[]
  readonly store: BenchStore
  readonly hubs: number
  readonly hubCmd: string
  readonly phaseTimeoutMs: number
}

/** Outcome of one target, with the load generator's result or the reason there is none. */
interface TargetReport {
  readonly target: Target
  readonly command: string
  /** Server processes of the target. */
  readonly servers: number
  readonly result?: LoadResult
  readonly error?: string
  readonly serverLog: ServerLog
}

function readOptions(args: string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      conns: { type: 'string', default: '2000' },
      events: { type: 'string', default: '500' },
      payload: { type: 'string', default: '64' },
      sample: { type: 'string', default: '50' },
      publishers: { type: 'string', default: '1' },
      target: { type: 'string', default: 'both' },
      store: { type: 'string', default: 'memory' },
      hubs: { type: 'string', default: '1' },
      'hub-cmd': { type: 'string', default: DEFAULT_HUB_CMD },
      'phase-timeout-ms': { type: 'string', default: '60000' },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) return undefined
  const integer = (name: keyof typeof values, min: number, max: number): number => {
    const raw = String(values[name])
    const value = /^\d+$/.test(raw) ? Number(raw) : NaN
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new RangeError(`Invalid --${name} "${raw}"; expected an integer from ${min} to ${max}`)
    }
    return value
  }
  const conns = integer('conns', 0, 1_000_000)
  const target = String(values.target)
  if (target !== 'hub' && target !== 'floor' && target !== 'both') {
    throw new RangeError(`Invalid --target "${target}"; expected hub, floor or both`)
  }
  const store = openBenchStore(String(values.store))
  const hubs = integer('hubs', 1, MAX_HUBS)
  if (hubs > 1 && store.notShared !== undefined) {
    throw new RangeError(
      `Invalid --hubs ${hubs} with --store ${String(values.store)}: ${store.notShared}; use --store redis or postgres`,
    )
  }
  return {
    conns,
    events: integer('events', 1, 10_000_000),
    payload: integer('payload', 0, 1_000_000),
    sample: integer('sample', 0, conns),
    publishers: integer('publishers', 1, 1_000),
    targets: target === 'both' ? ['hub', 'floor'] : [target],
    store,
    hubs,
    hubCmd: String(values['hub-cmd']),
    phaseTimeoutMs: integer('phase-timeout-ms', 1_000, 3_600_000),
  }
}

async function runTarget(options: BenchOptions, target: Target): Promise<TargetReport> {
  const isHub = target === 'hub'
  const command = isHub ? `TIDINGS_STORE=${options.store.url} ${options.hubCmd}` : FLOOR_CMD
  const servers = isHub ? options.hubs : 1
  const group = createServerGroup({
    command: isHub ? options.hubCmd : FLOOR_CMD,
    count: servers,
    env: isHub ? { TIDINGS_STORE: options.store.url } : {},
    startTimeoutMs: options.phaseTimeoutMs,
    label: target,
  })
  const storeProcess = isHub ? options.store.serverProcess : undefined
  try {
    await group.start()
    const result = await runLoad({
      ...options,
      ports: group.ports,
      serverPids: group.pids,
      storePids: storeProcess === undefined ? [] : findProcessRoots(storeProcess),
      label: target,
    })
    return { target, command, servers, result, serverLog: mergeLogs(group.logs) }
  } catch (err) {
    const error = (err as Error).message
    return { target, command, servers, error, serverLog: mergeLogs(group.logs) }
  } finally {
    await group.stop()
  }
}

/** Formats the reports as a table with one row per target. */
function formatTable(reports: readonly TargetReport[]): string {
  const header = [
    'target',
    'deliveries/s',
    'p50 ms',
    'p99 ms',
    'KiB/conn',
    'lost',
    'dup',
    'gaps',
    'closed',
    'server CPU',
    'store CPU',
    'loadgen CPU',
    'other CPU',
  ]
  const rows = reports.map((report) => {
    const result = report.result
    const label = report.servers > 1 ? `${report.target} x${report.servers}` : report.target
    if (!result) return [label, `failed: ${report.error ?? 'no result'}`]
    return [
      label,
      formatNumber(result.deliveriesPerSec),
      formatNumber(result.latencyP50Ms, 2),
      formatNumber(result.latencyP99Ms, 2),
      formatNumber(result.rssPerConnKiB, 1),
      formatNumber(result.lost),
      formatNumber(result.duplicates),
      formatNumber(result.gaps),
      formatNumber(result.closedEarly),
      formatPercent(result.serverCpuPct),
      formatPercent(result.storeCpuPct),
      formatPercent(result.loadCpuPct),
      formatPercent(result.otherCpuPct),
    ]
  })
  return formatColumns(header, rows)
}

/** Describes how fast a target accepted publish requests and what positions it returned. */
function formatPublishing(report: TargetReport): string | undefined {
  const result = report.result
  if (!result || result.published === 0) return undefined
  const seconds = formatNumber(result.publishMs / 1000, 2)
  const positions =
    result.positionDuplicates === null
      ? 'no positions returned'
      : result.positionDuplicates === 0 && result.positionHoles === 0
        ? 'positions distinct and contiguous'
        : `${result.positionDuplicates} duplicate and ${result.positionHoles} missing positions`
  return (
    `${report.target}: ${formatNumber(result.published)} publishes accepted in ${seconds} s ` +
    `by ${result.publishers} publisher(s), ${formatNumber(result.acceptedPerSec)}/s, ` +
    `round trip p50 ${formatNumber(result.publishP50Ms, 2)} ms, ` +
    `p99 ${formatNumber(result.publishP99Ms, 2)} ms, ${positions}`
  )
}

/** Describes the hub against the floor, when both have results. */
function formatRatio(reports: readonly TargetReport[]): string | undefined {
  const hub = reports.find((report) => report.target === 'hub')?.result
  const floor = reports.find((report) => report.target === 'floor')?.result
  if (!hub || !floor) return undefined
  const ratio = (a: number | null, b: number | null): string =>
    a === null || b === null || b === 0 ? '-' : `${(a / b).toFixed(2)}x`
  return [
    `hub / floor: deliveries/s ${ratio(hub.deliveriesPerSec, floor.deliveriesPerSec)}`,
    `p50 latency ${ratio(hub.latencyP50Ms, floor.latencyP50Ms)}`,
    `p99 latency ${ratio(hub.latencyP99Ms, floor.latencyP99Ms)}`,
    `memory per connection ${ratio(hub.rssPerConnKiB, floor.rssPerConnKiB)}`,
  ].join(', ')
}

/** Lists what kept a target's run from being complete. */
function formatNotes(report: TargetReport): string[] {
  if (!report.result) return []
  return listProblems(report.result).map((note) => `${report.target}: ${note}`)
}

function formatLogSummary(report: TargetReport): string {
  return formatServerLog(report.target, report.serverLog)
}

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2))
  if (!options) {
    process.stdout.write(HELP)
    return
  }
  if (options.targets.includes('hub') && options.hubCmd === DEFAULT_HUB_CMD) {
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

  const reports: TargetReport[] = []
  let cleanUpNote: string | undefined
  for (const target of options.targets) {
    if (target === 'floor') {
      reports.push(await runTarget(options, target))
      continue
    }
    const store = options.store
    const forget = cleanUpOnInterrupt(() => store.cleanUp())
    try {
      reports.push(await runTarget(options, target))
    } finally {
      forget()
      cleanUpNote = await store.cleanUp().catch((err: unknown) => {
        process.exitCode = 1
        return `clean-up of ${store.url} failed: ${(err as Error).message}`
      })
    }
  }

  const hubs = options.hubs > 1 ? `, ${options.hubs} hubs` : ''
  const out = [
    '',
    `${options.conns} subscribers, ${options.events} events, ${options.payload} bytes of padding, ` +
      `${options.publishers} publisher(s), store ${options.store.url}${hubs}`,
    formatTable(reports),
    ...reports.map(formatPublishing),
    ...reports.flatMap(formatNotes),
    formatRatio(reports),
    ...reports.map(formatLogSummary),
    cleanUpNote === undefined ? undefined : `store: ${cleanUpNote}`,
    '',
    ...reports.map((report) =>
      JSON.stringify({
        target: report.target,
        command: report.command,
        ...report.result,
        ...(report.error === undefined ? {} : { error: report.error }),
        serverLog: report.serverLog,
      }),
    ),
  ]
  process.stdout.write(`${out.filter((line) => line !== undefined).join('\n')}\n`)
  if (reports.some((report) => report.result === undefined)) process.exitCode = 1
}

installExitHandlers()
main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`)
  process.exit(2)
})
