#!/usr/bin/env node
// Runs every *.test.ts file under src/ and test/ with Node's test runner, through tsx.
// Node 20's runner does not expand globs, so the files are listed here. Arguments are passed on,
// so `npm test -- test/resume.test.ts` runs one file.
// NOTE: --test-force-exit ends each file's process once its tests finish. Without it, Node 20.20's
// runner at times kept the process of a file that had passed (the cluster tests) alive and busy
// until the timeout; no open handle of the tests was found behind it.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

function findTests(dir) {
  const found = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) found.push(...findTests(path))
    else if (name.endsWith('.test.ts')) found.push(path)
  }
  return found
}

const args = process.argv.slice(2)
const files = args.some((arg) => arg.endsWith('.ts'))
  ? args
  : [...findTests('src'), ...findTests('test')].sort()
const options = args.filter((arg) => !arg.endsWith('.ts'))
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-timeout=120000',
    '--test-force-exit', ...options, ...files],
  { stdio: 'inherit' },
)
process.exit(result.status ?? 1)
