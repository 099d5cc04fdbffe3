/**
 * Parsing of PostgreSQL store URLs into `PostgresStore` options, and the URL and schema checks that
 * the store's constructor also applies.
 * @module
 */
import { InvalidOptionError, quoteForMessage } from '../errors.js'
import type { PostgresStoreOptions } from './postgres-store.js'

/**
 * A schema name the store can use unquoted in notices and messages. The limit keeps the channel
 * name `tidings:<schema>` within PostgreSQL's 63-byte identifiers.
 */
const SCHEMA_PATTERN = /^(?!pg_)[a-z_][a-z0-9_]{0,54}$/

/**
 * Splits a store URL with an optional `schema` query parameter into `PostgresStore` options. The
 * parameter is removed from the URL handed to the driver.
 * @param storeUrl A URL such as `postgres://tidings@db.internal:5432/app?schema=hub1`.
 * @returns The options `url` and, when the URL has the parameter, `schema`.
 * @throws {InvalidOptionError} for a URL that is not `postgres://` or `postgresql://`, a repeated
 *   `schema` parameter, or an invalid schema name.
 * @example
 * const store = await PostgresStore.open(parsePostgresStoreUrl('postgres://db/app?schema=hub1'))
 */
export function parsePostgresStoreUrl(
  storeUrl: string,
): Pick<PostgresStoreOptions, 'url' | 'schema'> {
  const url = checkUrl(storeUrl)
  const schemas = url.searchParams.getAll('schema')
  if (schemas.length === 0) return { url: storeUrl }
  if (schemas.length > 1) {
    throw new InvalidOptionError(
      `PostgreSQL URL has ${schemas.length} schema parameters; give schema once`,
    )
  }
  const schema = checkSchema(schemas[0])
  url.searchParams.delete('schema')
  return { url: url.href, schema }
}

/**
 * Returns `host:port/database` of a connection URL, without user or password, for messages.
 * @internal
 */
export function describeServer(url: URL): string {
  return `${decodeURIComponent(url.hostname)}:${url.port || '5432'}${url.pathname}`
}

/**
 * Parses a PostgreSQL connection URL, leaving its query parameters to the caller.
 * @throws {InvalidOptionError} unless the value is a `postgres://` or `postgresql://` URL.
 * @internal
 */
export function checkUrl(value: unknown): URL {
  let url: URL | undefined
  try {
    if (typeof value === 'string') url = new URL(value)
  } catch {
    url = undefined
  }
  if (!url || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')) {
    const redacted = typeof value === 'string' ? value.replace(/:[^:/@]*@/, ':***@') : value
    throw new InvalidOptionError(
      `Invalid PostgreSQL URL ${quoteForMessage(redacted)}; expected postgres://user@host:port/database`,
    )
  }
  return url
}

/**
 * Checks a schema name option.
 * @throws {InvalidOptionError} unless the name matches `SCHEMA_PATTERN`.
 * @internal
 */
export function checkSchema(value: unknown): string {
  if (typeof value !== 'string' || !SCHEMA_PATTERN.test(value)) {
    throw new InvalidOptionError(
      `Invalid PostgreSQL schema name ${quoteForMessage(value)}; expected lowercase letters, digits and _, at most 55 characters, not starting with a digit or pg_`,
    )
  }
  return value
}
