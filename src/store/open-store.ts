/**
 * Opens a store from its URL: `memory:`, `sqlite:<path>`, `redis://…?prefix=<prefix>` or
 * `postgres://…?schema=<schema>`.
 * @module
 */
import { InvalidOptionError, quoteForMessage } from '../errors.js'
import type { EventStore, StoreLogger } from './event-store.js'
import { MemoryStore } from './memory-store.js'

/** Store URL schemes this build can open. */
export const STORE_SCHEMES = ['memory:', 'sqlite:', 'redis://', 'postgres://'] as const

/** Options of `openStore`. */
export interface OpenStoreOptions {
  /** Logger through which shared stores report connection trouble and recovery. */
  readonly logger?: StoreLogger
}

/**
 * Opens the store a URL names. Backends load on demand, so a hub on one backend does not need
 * the drivers of the others.
 * @throws {InvalidOptionError} for an unknown scheme or a URL without a path.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<EventStore> {
  const logger = options.logger ? { logger: options.logger } : {}
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0].toLowerCase()
  switch (scheme) {
    case 'memory:':
      return new MemoryStore()
    case 'sqlite:': {
      const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
      if (path === '') {
        throw new InvalidOptionError(
          `Invalid store URL ${quoteForMessage(url)}; expected sqlite:<path>, such as sqlite:./data/tidings.db`,
        )
      }
      const { SqliteStore } = await import('./sqlite-store.js')
      return new SqliteStore({ path })
    }
    case 'redis:':
    case 'rediss:': {
      const { RedisStore, redisStoreOptionsFromUrl } = await import('./redis-store.js')
      return new RedisStore({ ...redisStoreOptionsFromUrl(url), ...logger })
    }
    case 'postgres:':
    case 'postgresql:': {
      const { PostgresStore, parsePostgresStoreUrl } = await import('./postgres-store.js')
      return PostgresStore.open({ ...parsePostgresStoreUrl(url), ...logger })
    }
    default:
      throw new InvalidOptionError(
        `Unknown store URL scheme in ${quoteForMessage(url)}; expected ${STORE_SCHEMES.join(' or ')}`,
      )
  }
}

/** Returns the URL with any password replaced, for logs. */
export function redactStoreUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@')
}
