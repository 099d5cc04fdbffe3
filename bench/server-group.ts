/**
 * Starts one or more copies of a server command, each on its own free port on 127.0.0.1 and all
 * pinned to the server CPU, and stops them together.
 * @module
 */
import type { ChildProcess } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  collectLog,
  findFreePort,
  SERVER_CPU,
  spawnPinned,
  stopChild,
  track,
  waitForPort,
  type ServerLog,
} from './child-processes.js'

/** The hub; its store comes from `TIDINGS_STORE`. */
export const DEFAULT_HUB_CMD = 'node dist/cli/main.js serve --log-level warn'
/** The bare node:http broadcaster that serves as the floor. */
export const FLOOR_CMD = 'node bench/floor-server.mjs'
/** Hub processes one run may start. */
export const MAX_HUBS = 16

/** Time a server gets to stop after SIGTERM before it is killed, in ms. */
const STOP_GRACE_MS = 10_000
/** Pause after the last server listens, so that start-up work is over before memory is read. */
const SETTLE_MS = 500

/** Options of `startServerGroup`. */
export interface ServerGroupOptions {
  /** Shell command that starts one server on 127.0.0.1, port `$PORT`. */
  readonly command: string
  readonly count: number
  /** Variables added to the environment of every server. */
  readonly env: Readonly<Record<string, string>>
  /** Time each server gets to listen, in ms. */
  readonly startTimeoutMs: number
  /** Prefix of progress lines on stderr. */
  readonly label: string
}

/** Servers started together, in start order. */
export interface ServerGroup {
  /** Ports of the servers started so far. */
  readonly ports: readonly number[]
  readonly pids: readonly number[]
  /** One log per server, filled until the server exits, also when it failed to start. */
  readonly logs: readonly ServerLog[]
  /**
   * Starts the servers one after another and resolves once all of them listen. Rejects when one
   * fails to start; `stop` then stops the ones already running.
   */
  start(): Promise<void>
  /** Stops every server: SIGTERM, then SIGKILL after a grace period. */
  stop(): Promise<void>
}

/** Sums the logs of several servers, keeping the first lines of each up to the usual count. */
export function mergeLogs(logs: readonly ServerLog[]): ServerLog {
  const merged: ServerLog = { lines: 0, warnings: 0, errors: 0, kept: [] }
  for (const [index, log] of logs.entries()) {
    merged.lines += log.lines
    merged.warnings += log.warnings
    merged.errors += log.errors
    const tag = logs.length > 1 ? `[server ${index + 1}] ` : ''
    merged.kept.push(...log.kept.map((line) => tag + line))
  }
  return merged
}

/** Prepares a group of servers; `start` starts them. */
export function createServerGroup(options: ServerGroupOptions): ServerGroup {
  const children: ChildProcess[] = []
  const ports: number[] = []
  const pids: number[] = []
  const logs: ServerLog[] = []
  // A TIDINGS_PORT in the caller's environment would win over PORT in the hub.
  const { TIDINGS_PORT: _ignored, ...inherited } = process.env
  const start = async (): Promise<void> => {
    for (let i = 0; i < options.count; i++) {
      const port = await findFreePort()
      const ordinal = options.count > 1 ? ` ${i + 1} of ${options.count}` : ''
      process.stderr.write(
        `${options.label}: starting server${ordinal} "${options.command}" on port ${port}, CPU ${SERVER_CPU}\n`,
      )
      const env = { ...inherited, ...options.env, PORT: String(port) }
      const child = track(spawnPinned(options.command, SERVER_CPU, [], env))
      children.push(child)
      logs.push(collectLog(child))
      await waitForPort(port, child, options.startTimeoutMs)
      ports.push(port)
      pids.push(child.pid!)
    }
    await sleep(SETTLE_MS)
  }
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((child) => stopChild(child, STOP_GRACE_MS)))
  }
  return { ports, pids, logs, start, stop }
}
