/**
 * Builds the project and runs the built `tidings serve` (`dist/cli/main.js`) in a child process,
 * for tests that need the compiled files, such as the console's browser scripts. The helper in
 * `hub-process.ts` runs the TypeScript sources through tsx instead.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnHub, type HubProcess } from './hub-process.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BUILT_CLI = join(ROOT, 'dist/cli/main.js')

/** Build outputs the console tests load. The build is stale when any is older than a source. */
const OUTPUTS = [
  'dist/cli/main.js',
  'dist/http/console-routes.js',
  'dist/console/console-app.js',
  'dist/client/index.js',
]

/** Returns the newest modification time of the non-test `.ts` files under `dir`, in ms. */
function newestSourceTime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceTime(path))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      newest = Math.max(newest, statSync(path).mtimeMs)
    }
  }
  return newest
}

function oldestOutputTime(): number {
  let oldest = Number.POSITIVE_INFINITY
  for (const output of OUTPUTS) {
    try {
      oldest = Math.min(oldest, statSync(join(ROOT, output)).mtimeMs)
    } catch {
      return 0
    }
  }
  return oldest
}

/**
 * Runs `npm run build` unless every output is newer than every source.
 * @throws {Error} with the compiler's output when the build fails.
 */
export function buildIfStale(): void {
  if (oldestOutputTime() > newestSourceTime(join(ROOT, 'src'))) return
  const result = spawnSync('npm', ['run', 'build', '--silent'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  })
  if (result.status !== 0) {
    throw new Error(
      `"npm run build" failed with ${result.status ?? result.signal}: ${result.stdout}${result.stderr}`,
    )
  }
}

/** Runs `node dist/cli/main.js serve` with `args` and resolves once the hub listens. */
export function startBuiltHub(args: readonly string[]): Promise<HubProcess> {
  return spawnHub([BUILT_CLI, 'serve', ...args], {}, ROOT)
}

/** Stops a hub with SIGTERM, the way an operator does, and waits for it to exit. */
export async function stopBuiltHub(hub: HubProcess): Promise<void> {
  if (hub.child.exitCode !== null || hub.child.signalCode !== null) return
  hub.child.kill('SIGTERM')
  await hub.exited
}
