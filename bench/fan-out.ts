/**
 * Fan-out benchmark: N subscribers, E events published one after another, measured on the hub and
 * on a minimal node:http broadcaster (the floor) in the same run.
 *
 * Each server runs as a child process pinned to CPU 0, one after the other. The load generator
 * (`load-generator.ts`) runs as another child, pinned to CPU 1. Every phase has a timeout, after
 * which the run reports what it has and stops the children. Prints a table, then one JSON line per
 * target.
 *
 * Run `npm run bench -- --help` for the options.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import type { LoadResult } from './load-generator.js'

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
const DEFAULT_HUB_CMD = 'node dist/cli/main.js serve --store memory: --log-level warn'
const FLOOR_CMD = 'node bench/floor-server.mjs'
const LOAD_CMD = 'node --import tsx bench/load-generator.ts'
/** Raises the soft open-file limit to 65,536, or to the hard limit when that is lower. */
const RAISE_FILE_LIMIT = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"'
const SERVER_CPU = '0'
const LOAD_CPU = '1'
/** Warning and error lines of a server's log kept for the report. Later ones are only counted. */
const KEPT_LOG_LINES = 5

const HELP = `Usage: npm run bench -- [options]

Opens N subscribers on each server, publishes E events one after another and prints deliveries
per second, publish-to-delivery latency, server memory per connection and lost events.

Options:
  --conns N              subscribers per server (default 2000)
  --events E             events to publish (default 500)
  --payload BYTES        padding added to each event (default 64)
  --sample N             subscribers that parse every frame for latency and order (default 50)
  --target T             hub, floor or both (default both)
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
  readonly targets: readonly Target[]
  readonly hubCmd: string
  readonly phaseTimeoutMs: number
}

/** Line counts of a server's output, with its first warnings and errors. */
interface ServerLog {
  lines: number
  warnings: number
  errors: number
  readonly kept: string[]
}

/** Outcome of one target, with the load generator's result or the reason there is none. */
interface TargetReport {
  readonly target: Target
  readonly command: string
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
      target: { type: 'string', default: 'both' },
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
  const conns = integer('conns', 1, 1_000_000)
  const target = String(values.target)
  if (target !== 'hub' && target !== 'floor' && target !== 'both') {
    throw new RangeError(`Invalid --target "${target}"; expected hub, floor or both`)
  }
  return {
    conns,
    events: integer('events', 1, 10_000_000),
    payload: integer('payload', 0, 1_000_000),
    sample: integer('sample', 0, conns),
    targets: target === 'both' ? ['hub', 'floor'] : [target],
    hubCmd: String(values['hub-cmd']),
    phaseTimeoutMs: integer('phase-timeout-ms', 1_000, 3_600_000),
  }
}

/** Reads the hard limit on open files, which bounds what `RAISE_FILE_LIMIT` can reach. */
function hardFileLimit(): number {
  const match = /^Max open files\s+\S+\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
  return match ? Number(match[1]) : Infinity
}

/** Finds a free port on 127.0.0.1. Another process could take it before the server starts. */
function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => {
        if (address && typeof address === 'object') resolve(address.port)
        else reject(new Error('Failed to read the port of the probe server'))
      })
    })
  })
}

/**
 * Starts `command` through bash with a raised file limit, pinned to `cpu`. The child leads its own
 * process group, so that stopping it also stops anything it started.
 */
function spawnPinned(
  command: string,
  cpu: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): ChildProcess {
  // "$@" passes the arguments on without a second round of shell quoting.
  const script = `${RAISE_FILE_LIMIT}; exec taskset -c ${cpu} ${command} "$@"`
  return spawn('bash', ['-c', script, 'bash', ...args], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/** Waits without keeping the process alive, for time limits raced against a child's exit. */
function unrefSleep(ms: number): Promise<void> {
  return sleep(ms, undefined, { ref: false })
}

const liveChildren = new Set<ChildProcess>()

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // The group has already exited.
  }
}

function track(child: ChildProcess): ChildProcess {
  liveChildren.add(child)
  child.once('exit', () => liveChildren.delete(child))
  return child
}

/** Stops a child's process group with SIGTERM, then SIGKILL if it still runs after `graceMs`. */
async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  signalGroup(child, 'SIGTERM')
  const inTime = await Promise.race([
    exited.then(() => true),
    unrefSleep(graceMs).then(() => false),
  ])
  if (!inTime) {
    signalGroup(child, 'SIGKILL')
    await exited
  }
}

/**
 * Counts a server's output lines. Pino lines are JSON with a numeric `level`, 40 for warn and 50
 * for error.
 */
function collectLog(child: ChildProcess): ServerLog {
  const log: ServerLog = { lines: 0, warnings: 0, errors: 0, kept: [] }
  let partial = ''
  const onText = (text: string): void => {
    const lines = (partial + text).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      if (line.trim() === '') continue
      log.lines++
      let level = 0
      try {
        level = Number((JSON.parse(line) as { level?: unknown }).level) || 0
      } catch {
        // Output that is not JSON, such as a stack trace on stderr, counts as an error.
        level = 50
      }
      if (level >= 50) log.errors++
      else if (level >= 40) log.warnings++
      if (level >= 40 && log.kept.length < KEPT_LOG_LINES) log.kept.push(line.slice(0, 400))
    }
  }
  child.stdout?.setEncoding('utf8').on('data', onText)
  child.stderr?.setEncoding('utf8').on('data', onText)
  return log
}

/** Resolves once something accepts TCP connections on the port; rejects if the child exits. */
async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`Server exited with ${child.exitCode ?? child.signalCode} before listening`)
    }
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port })
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (accepted) return
    await sleep(100)
  }
  throw new Error(`Server did not listen on port ${port} within ${timeoutMs} ms`)
}

/** Runs the load generator against a server and returns its result line. */
async function runLoad(
  options: BenchOptions,
  target: Target,
  port: number,
  serverPid: number,
): Promise<LoadResult> {
  const args = [
    ...['--port', String(port), '--conns', String(options.conns)],
    ...['--events', String(options.events), '--payload', String(options.payload)],
    ...['--sample', String(options.sample), '--server-pid', String(serverPid)],
    ...['--server-cpu', SERVER_CPU, '--load-cpu', LOAD_CPU],
    ...['--phase-timeout-ms', String(options.phaseTimeoutMs), '--label', target],
  ]
  const load = track(spawnPinned(LOAD_CMD, LOAD_CPU, args, process.env))
  let stdout = ''
  load.stdout?.setEncoding('utf8').on('data', (text: string) => (stdout += text))
  load.stderr?.pipe(process.stderr)
  const exited = new Promise<number | null>((resolve) => load.once('exit', resolve))
  // The load generator times its own phases; this limit only catches a hung process.
  const limitMs = 2 * options.phaseTimeoutMs + 30_000
  const code = await Promise.race([exited, unrefSleep(limitMs).then(() => 'hung' as const)])
  if (code === 'hung') {
    await stopChild(load, 1_000)
    throw new Error(`Load generator did not finish within ${limitMs} ms and was stopped`)
  }
  const line = stdout.trim().split('\n').pop() ?? ''
  if (code !== 0 || !line.startsWith('{')) {
    throw new Error(`Load generator exited with ${code} and no result`)
  }
  return JSON.parse(line) as LoadResult
}

async function runTarget(options: BenchOptions, target: Target): Promise<TargetReport> {
  const command = target === 'hub' ? options.hubCmd : FLOOR_CMD
  const port = await findFreePort()
  // A TIDINGS_PORT in the caller's environment would win over PORT in the hub.
  const { TIDINGS_PORT: _ignored, ...env } = process.env
  process.stderr.write(`${target}: starting "${command}" on port ${port}, CPU ${SERVER_CPU}\n`)
  const server = track(spawnPinned(command, SERVER_CPU, [], { ...env, PORT: String(port) }))
  const serverLog = collectLog(server)
  try {
    await waitForPort(port, server, options.phaseTimeoutMs)
    // Let the server finish starting up before its memory is read.
    await sleep(500)
    const result = await runLoad(options, target, port, server.pid!)
    return { target, command, result, serverLog }
  } catch (err) {
    return { target, command, error: (err as Error).message, serverLog }
  } finally {
    await stopChild(server, 10_000)
  }
}

function formatNumber(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined) return '-'
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  })
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
    'loadgen CPU',
    'other CPU',
  ]
  const rows = reports.map((report) => {
    const result = report.result
    if (!result) return [report.target, `failed: ${report.error ?? 'no result'}`]
    return [
      report.target,
      formatNumber(result.deliveriesPerSec),
      formatNumber(result.latencyP50Ms, 2),
      formatNumber(result.latencyP99Ms, 2),
      formatNumber(result.rssPerConnKiB, 1),
      formatNumber(result.lost),
      formatNumber(result.duplicates),
      formatNumber(result.gaps),
      formatNumber(result.closedEarly),
      `${result.serverCpuPct}%`,
      `${result.loadCpuPct}%`,
      `${result.otherCpuPct}%`,
    ]
  })
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row.length > 2 ? (row[i] ?? '').length : 0))),
  )
  const format = (row: string[]): string =>
    row.length <= 2
      ? row.join('  ')
      : row
          .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
          .join('  ')
  return [format(header), ...rows.map(format)].join('\n')
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
  const result = report.result
  if (!result) return []
  const notes: string[] = []
  if (result.connected < result.conns) {
    notes.push(
      `${result.connected} of ${result.conns} subscribers connected, ${result.connectFailures} failed`,
    )
  }
  if (result.finish === 'not-started') notes.push('nothing was published')
  if (result.finish === 'idle') notes.push('deliveries stopped before every event arrived')
  if (result.finish === 'timeout') notes.push('the delivery phase timed out')
  if (result.publishFailures > 0) notes.push(`${result.publishFailures} publish requests failed`)
  if (result.closedEarly > 0) notes.push(`${result.closedEarly} streams ended before the run did`)
  return notes.map((note) => `${report.target}: ${note}`)
}

function formatLogSummary(report: TargetReport): string {
  const log = report.serverLog
  const counts = `${log.lines} lines, ${log.warnings} warnings, ${log.errors} errors`
  const summary = `${report.target} log: ${counts}`
  return [summary, ...log.kept.map((line) => `  ${line}`)].join('\n')
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
  for (const target of options.targets) reports.push(await runTarget(options, target))

  const out = [
    '',
    `${options.conns} subscribers, ${options.events} events, ${options.payload} bytes of padding`,
    formatTable(reports),
    ...reports.flatMap(formatNotes),
    formatRatio(reports),
    ...reports.map(formatLogSummary),
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

// Children lead their own process groups, so they outlive this process unless it stops them.
process.on('exit', () => {
  for (const child of liveChildren) signalGroup(child, 'SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => process.exit(130))
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`)
  process.exit(2)
})
