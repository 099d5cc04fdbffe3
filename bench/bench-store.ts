/**
 * Store URLs for benchmark runs. The shorthands `sqlite`, `redis` and `postgres` expand to a fresh
 * temporary file, a fresh Redis key prefix or a fresh PostgreSQL schema, which `cleanUp` removes
 * after the run. Full store URLs are used as given and never cleaned up, since the benchmark did not
 * create what they point to.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Redis server of the `redis` shorthand. */
const REDIS_URL = 'redis://127.0.0.1:6379'
/** PostgreSQL database of the `postgres` shorthand. */
const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test'
/** Files of a SQLite database besides the main file, named by these suffixes. */
const SQLITE_FILE_SUFFIXES = ['', '-wal', '-shm', '-journal']
/** Time each clean-up step may take before the run gives up on it, in ms. */
const CLEANUP_TIMEOUT_MS = 10_000

export type StoreKind = 'memory' | 'sqlite' | 'redis' | 'postgres'

/** A store for one run. */
export interface BenchStore {
  readonly kind: StoreKind
  /** URL that the hubs open, such as `redis://127.0.0.1:6379?prefix=bench_1f2e3d4c`. */
  readonly url: string
  /**
   * Reason that several hub processes cannot share this store, or `undefined` when they can.
   * Memory stores live in one process, and a SQLite file takes an exclusive lock.
   */
  readonly notShared: string | undefined
  /**
   * Name of the local server process whose CPU time the run reports as store CPU, or `undefined`
   * when the store runs inside the hub or on another host.
   */
  readonly serverProcess: string | undefined
  /** Removes what the run created and returns what it did, or `undefined` when there is nothing. */
  cleanUp(): Promise<string | undefined>
}

/** Store shorthands that `openBenchStore` expands. */
export const STORE_SHORTHANDS: readonly StoreKind[] = ['memory', 'sqlite', 'redis', 'postgres']

function uniqueName(): string {
  return `bench_${randomBytes(4).toString('hex')}`
}

function isLocalHost(url: string): boolean {
  const host = new URL(url).hostname
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]'
}

function kindOf(url: string): StoreKind {
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0].toLowerCase()
  switch (scheme) {
    case 'memory:':
      return 'memory'
    case 'sqlite:':
      return 'sqlite'
    case 'redis:':
    case 'rediss:':
      return 'redis'
    case 'postgres:':
    case 'postgresql:':
      return 'postgres'
    default:
      throw new RangeError(
        `Invalid --store "${url}"; expected memory, sqlite, redis, postgres or a store URL`,
      )
  }
}

function notSharedReason(kind: StoreKind): string | undefined {
  if (kind === 'memory') return 'a memory: store lives inside one hub process'
  if (kind === 'sqlite') return 'a SQLite file takes an exclusive lock, so one hub process per file'
  return undefined
}

function serverProcessOf(kind: StoreKind, url: string): string | undefined {
  if (kind === 'redis' && isLocalHost(url)) return 'redis-server'
  if (kind === 'postgres' && isLocalHost(url)) return 'postgres'
  return undefined
}

/** Rejects once `ms` have passed, so that a hung clean-up cannot stop the run from ending. */
function withTimeout<T>(promise: Promise<T>, ms: number, action: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${action}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Deletes every key under `prefix` and returns how many there were. */
async function deleteRedisKeys(prefix: string): Promise<number> {
  const { Redis } = await import('ioredis')
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true })
  try {
    await client.connect()
    let deleted = 0
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) deleted += await client.unlink(...keys)
    } while (cursor !== '0')
    return deleted
  } finally {
    client.disconnect()
  }
}

async function dropPostgresSchema(schema: string): Promise<void> {
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: POSTGRES_URL })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`)
  } finally {
    await client.end()
  }
}

function created(kind: StoreKind, url: string, cleanUp: BenchStore['cleanUp']): BenchStore {
  return {
    kind,
    url,
    notShared: notSharedReason(kind),
    serverProcess: serverProcessOf(kind, url),
    cleanUp,
  }
}

/**
 * Turns a `--store` value into a store for one run. A shorthand picks a fresh file, prefix or
 * schema name. Nothing is created here: the hubs create the file, keys and schema when they start.
 * @throws {RangeError} for a value that is neither a shorthand nor a store URL.
 */
export function openBenchStore(spec: string): BenchStore {
  switch (spec) {
    case 'memory':
    case 'memory:':
      return created('memory', 'memory:', async () => undefined)
    case 'sqlite': {
      // The hub creates the file. SQLite adds the -wal and -shm files beside it in WAL mode.
      const path = join(tmpdir(), `tidings-${uniqueName()}.db`)
      return created('sqlite', `sqlite:${path}`, async () => {
        for (const suffix of SQLITE_FILE_SUFFIXES) rmSync(path + suffix, { force: true })
        return `removed ${path}`
      })
    }
    case 'redis': {
      const prefix = uniqueName()
      return created('redis', `${REDIS_URL}?prefix=${prefix}`, async () => {
        const deleted = await withTimeout(
          deleteRedisKeys(prefix),
          CLEANUP_TIMEOUT_MS,
          `delete the Redis keys under ${prefix}:`,
        )
        return `deleted ${deleted} Redis keys under ${prefix}:`
      })
    }
    case 'postgres': {
      const schema = uniqueName()
      return created('postgres', `${POSTGRES_URL}?schema=${schema}`, async () => {
        await withTimeout(
          dropPostgresSchema(schema),
          CLEANUP_TIMEOUT_MS,
          `drop the PostgreSQL schema ${schema}`,
        )
        return `dropped the PostgreSQL schema ${schema}`
      })
    }
    default: {
      const kind = kindOf(spec)
      return created(kind, spec, async () => undefined)
    }
  }
}
