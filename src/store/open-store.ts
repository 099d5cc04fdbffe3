/**
 * Opens a store from its URL: `memory:`, `sqlite:<path>`.
 * @module
 */
import { InvalidOptionError, quoteForMessage } from '../errors.js'
import type { EventStore } from './event-store.js'
import { MemoryStore } from './memory-store.js'

/** Store URL schemes this build can open. */
export const STORE_SCHEMES = ['memory:', 'sqlite:'] as const

/**
 * Opens the store a URL names. Backends load on demand, so a hub on one backend does not need
 * the drivers of the others.
 * @throws {InvalidOptionError} for an unknown scheme or a URL without a path.
 */
export async function openStore(url: string): Promise<EventStore> {
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
