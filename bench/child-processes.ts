/**
 * Child processes of the benchmarks: servers and load generators pinned to one CPU each, their
 * logs, and their shutdown.
 *
 * Every child leads its own process group, so that stopping it also stops anything it started.
 * Children still running when the benchmark exits are killed on the way out.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
/** Raises the soft open-file limit to 65,536, or to the hard limit when that is lower. */
const RAISE_FILE_LIMIT = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"'
/** CPU of every server under test. */
export const SERVER_CPU = '0'
/** CPU of the load generator. */
export const LOAD_CPU = '1'
/** Warning and error lines of a server's log kept for the report. Later ones are only counted. */
const KEPT_LOG_LINES = 5

/** Line counts of a server's output, with its first warnings and errors. */
export interface ServerLog {
  lines: number
  warnings: number
  errors: number
  readonly kept: string[]
}

/** Reads the hard limit on open files, which bounds what `RAISE_FILE_LIMIT` can reach. */
export function hardFileLimit(): number {
  const match = /^Max open files\s+\S+\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
  return match ? Number(match[1]) : Infinity
}

/** Finds a free port on 127.0.0.1. Another process could take it before the server starts. */
export function findFreePort(): Promise<number> {
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
export function spawnPinned(
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
export function unrefSleep(ms: number): Promise<void> {
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

/** Registers a child, so that it is killed if the benchmark exits before stopping it. */
export function track(child: ChildProcess): ChildProcess {
  liveChildren.add(child)
  child.once('exit', () => liveChildren.delete(child))
  return child
}

/** Kills the process group of every child still running. */
export function killAllChildren(): void {
  for (const child of liveChildren) signalGroup(child, 'SIGKILL')
}

/** Stops a child's process group with SIGTERM, then SIGKILL if it still runs after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
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
export function collectLog(child: ChildProcess): ServerLog {
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
export async function waitForPort(
  port: number,
  child: ChildProcess,
  timeoutMs: number,
): Promise<void> {
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

/** Clean-ups of the current run, such as dropping its store, for when it is interrupted. */
const interruptCleanups = new Set<() => Promise<unknown>>()

/**
 * Registers a clean-up that runs if SIGINT or SIGTERM ends the run. Returns the function that
 * removes it, for when the run cleaned up by itself.
 */
export function cleanUpOnInterrupt(cleanUp: () => Promise<unknown>): () => void {
  interruptCleanups.add(cleanUp)
  return () => interruptCleanups.delete(cleanUp)
}

/**
 * Kills every child when the benchmark exits. On SIGINT or SIGTERM it first kills the children,
 * then runs the registered clean-ups, and exits with 130.
 */
export function installExitHandlers(): void {
  // Children lead their own process groups, so they outlive this process unless it stops them.
  process.on('exit', killAllChildren)
  let interrupted = false
  const onSignal = (): void => {
    if (interrupted) process.exit(130)
    interrupted = true
    killAllChildren()
    const cleanUps = [...interruptCleanups].map((cleanUp) =>
      cleanUp().catch((err: unknown) => {
        process.stderr.write(`bench: clean-up failed: ${(err as Error).message}\n`)
      }),
    )
    void Promise.all(cleanUps).then(() => process.exit(130))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}
