/**
 * Runs the load generator (`load-generator.ts`) as a child process pinned to the load CPU and
 * returns its result.
 * @module
 */
import {
  LOAD_CPU,
  SERVER_CPU,
  spawnPinned,
  stopChild,
  track,
  unrefSleep,
} from './child-processes.js'
import type { LoadResult } from './load-generator.js'

const LOAD_CMD = 'node --import tsx bench/load-generator.ts'

/** One load generator run against running servers. */
export interface LoadRunOptions {
  readonly ports: readonly number[]
  /** Servers whose memory and CPU time are read, with their children. */
  readonly serverPids: readonly number[]
  /** Store server processes whose CPU time is read, with their children. */
  readonly storePids: readonly number[]
  readonly conns: number
  readonly events: number
  readonly payload: number
  readonly sample: number
  readonly publishers: number
  readonly phaseTimeoutMs: number
  /** Prefix of the load generator's progress lines. */
  readonly label: string
}

/** Runs the load generator against the servers and returns its result line. */
export async function runLoad(options: LoadRunOptions): Promise<LoadResult> {
  const args = [
    ...['--ports', options.ports.join(','), '--conns', String(options.conns)],
    ...['--events', String(options.events), '--payload', String(options.payload)],
    ...['--sample', String(options.sample), '--publishers', String(options.publishers)],
    ...['--server-pids', options.serverPids.join(','), '--store-pids', options.storePids.join(',')],
    ...['--server-cpu', SERVER_CPU, '--load-cpu', LOAD_CPU],
    ...['--phase-timeout-ms', String(options.phaseTimeoutMs), '--label', options.label],
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
