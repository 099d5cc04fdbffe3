/**
 * Starts a real hub on a random loopback port for a test, with its log lines captured.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { DEFAULTS } from '../../src/constants.js'
import { readHubConfig, type HubConfig } from '../../src/server/hub-config.js'
import { startHub, type RunningHub } from '../../src/server/hub-server.js'

/** A hub started for a test. */
export interface TestHub extends RunningHub {
  readonly url: string
  /** Parsed log lines written so far. */
  readonly logs: Record<string, unknown>[]
}

/** Returns a fresh temporary folder and a function that removes it. */
export function makeTempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-test-'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Starts a hub on 127.0.0.1 with an OS-assigned port; `overrides` replace config values. */
export async function startTestHub(overrides: Partial<HubConfig> = {}): Promise<TestHub> {
  const config: HubConfig = {
    ...readHubConfig([], {}),
    port: 0,
    host: '127.0.0.1',
    storeUrl: 'memory:',
    logLevel: 'debug',
    shutdownGraceMs: 1_000,
    ...overrides,
  }
  const logs: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>)
      }
      done()
    },
  })
  const logger = pino({ level: config.logLevel }, sink)
  const hub = await startHub(config, { logger })
  return { ...hub, url: `http://127.0.0.1:${hub.port}`, logs }
}

/** Publishes an event over HTTP and returns the status and parsed body. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await response.text()
  return {
    status: response.status,
    body: text ? JSON.parse(text) : undefined,
    headers: response.headers,
  }
}

export { DEFAULTS }
