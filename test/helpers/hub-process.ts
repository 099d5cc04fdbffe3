/**
 * Runs the `tidings` command in a child process, for tests of restarts, signals and crashes.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

/** A hub running in a child process. */
export interface HubProcess {
  readonly child: ChildProcess
  readonly port: number
  readonly url: string
  /** Parsed log lines written to stdout so far. */
  readonly logs: Record<string, unknown>[]
  /** Raw stderr text. */
  readonly stderr: () => string
  /** Resolves with the exit code (or signal) when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Runs `tidings` from the sources with `args` and, for `serve`, resolves once the hub listens. */
export function startHubProcess(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<HubProcess> {
  return spawnHub(['--import', 'tsx', CLI, ...args], env)
}

/**
 * Runs Node with `nodeArgs`, a hub command line, and resolves once the hub logs that it listens.
 * The child is killed if the test process exits first, so a test that fails midway leaves no hub
 * holding its port or SQLite lock.
 */
export async function spawnHub(
  nodeArgs: readonly string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<HubProcess> {
  const child = spawn(process.execPath, nodeArgs, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd === undefined ? {} : { cwd }),
  })
  const killOnExit = (): void => {
    child.kill('SIGKILL')
  }
  process.once('exit', killOnExit)
  const logs: Record<string, unknown>[] = []
  let stderr = ''
  let pending = ''
  const exited = once(child, 'exit').then(([code, signal]) => {
    process.off('exit', killOnExit)
    return { code: code as number | null, signal: signal as NodeJS.Signals | null }
  })
  const started = new Promise<number>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        if (line.trim() === '') continue
        const entry = JSON.parse(line) as Record<string, unknown>
        logs.push(entry)
        if (entry['msg'] === 'hub started') resolve(entry['port'] as number)
      }
    })
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    void exited.then(({ code, signal }) =>
      reject(new Error(`hub exited with ${code ?? signal} before it started: ${stderr}`)),
    )
  })
  const port = await started
  return { child, port, url: `http://127.0.0.1:${port}`, logs, stderr: () => stderr, exited }
}

/** Runs `tidings` with `args` to completion and returns its exit code and output. */
export async function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, stdout, stderr }
}
