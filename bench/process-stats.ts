/**
 * Memory and CPU time of a server process and its descendants, read from Linux `/proc`.
 *
 * The server may run under a wrapper that forks instead of `exec`-ing (`npm start`, for one), so
 * every reading covers the whole process tree below the given id.
 * @module
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/** Clock ticks per second of the `utime` and `stime` fields of `/proc/<pid>/stat`. */
const CLOCK_TICKS_PER_SECOND = readClockTicks()

function readClockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return Number.isSafeInteger(ticks) && ticks > 0 ? ticks : 100
  } catch {
    // NOTE: 100 is the usual USER_HZ of Linux builds. getconf is missing only on very small
    // images.
    return 100
  }
}

/**
 * Returns the fields of `/proc/<pid>/stat` that follow the command name, so that index 0 is the
 * state, 1 the parent id, 11 `utime` and 12 `stime`. Returns `undefined` once the process is gone.
 */
function readStatFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name is in parentheses and may itself contain spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

/** Returns the command name of a process (the `comm` field), or `undefined` once it is gone. */
function readCommand(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
  } catch {
    return undefined
  }
}

/**
 * Finds the processes named `command` whose parent has another name: the main process of a
 * server such as `postgres`, without its forked workers. `listProcessTree` adds those.
 */
export function findProcessRoots(command: string): number[] {
  const roots: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const pid = Number(name)
    if (readCommand(pid) !== command) continue
    const parent = Number(readStatFields(pid)?.[1])
    if (readCommand(parent) !== command) roots.push(pid)
  }
  return roots
}

/** Lists `pid` and every process below it, parents before children. */
export function listProcessTree(pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const parent = Number(readStatFields(Number(name))?.[1])
    if (!Number.isInteger(parent)) continue
    const siblings = children.get(parent) ?? []
    siblings.push(Number(name))
    children.set(parent, siblings)
  }
  const tree = [pid]
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []))
  return tree
}

/** Returns the summed `VmRSS` of the processes, in KiB. Processes that have exited count 0. */
export function readRssKiB(pids: readonly number[]): number {
  let total = 0
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      const match = /^VmRSS:\s+(\d+) kB$/m.exec(status)
      if (match) total += Number(match[1])
    } catch {
      // The process has exited.
    }
  }
  return total
}

/** Returns the user plus system CPU time of the processes, all threads included, in ms. */
export function readCpuMs(pids: readonly number[]): number {
  let ticks = 0
  for (const pid of pids) {
    const fields = readStatFields(pid)
    if (fields) ticks += Number(fields[11]) + Number(fields[12])
  }
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND
}

/**
 * Returns the busy time of a CPU since boot in ms, from `/proc/stat`, counting every field except
 * `idle` and `iowait`.
 */
export function readCpuBusyMs(cpu: number): number {
  const stat = readFileSync('/proc/stat', 'utf8')
  const line = stat.split('\n').find((row) => row.startsWith(`cpu${cpu} `))
  if (line === undefined) throw new RangeError(`CPU ${cpu} not found in /proc/stat`)
  // Fields after the name: user nice system idle iowait irq softirq steal guest guest_nice. Guest
  // time is already part of user time.
  const fields = line.trim().split(/\s+/).slice(1).map(Number)
  let ticks = 0
  for (const index of [0, 1, 2, 5, 6, 7]) ticks += fields[index] ?? 0
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND
}
