/**
 * Parsing of Redis store URLs into `RedisStore` options, and the URL and prefix checks that the
 * store's constructor also applies.
 * @module
 */
import { InvalidOptionError, quoteForMessage } from '../errors.js'
import { redactStoreUrl } from './open-store.js'

/**
 * Turns a store URL such as `redis://host:6379/0?prefix=hub1` into `RedisStore` options: the
 * `prefix` query parameter becomes the `prefix` option and leaves the URL.
 * @returns the `url` and `prefix` options; `prefix` is left out when the URL has none.
 * @throws {InvalidOptionError} for a scheme other than `redis:` or `rediss:`, a missing host, a
 *   database other than a number, an empty prefix, or any other query parameter.
 * @example
 * const store = new RedisStore({ ...redisStoreOptionsFromUrl(url), logger })
 */
export function redisStoreOptionsFromUrl(url: string): { url: string; prefix?: string } {
  const parsed = parseRedisUrl(url)
  const prefixes = parsed.searchParams.getAll('prefix')
  const unknown = [...parsed.searchParams.keys()].filter((key) => key !== 'prefix')
  if (unknown.length > 0 || prefixes.length > 1) {
    throw new InvalidOptionError(
      `Invalid Redis store URL ${quoteForMessage(redactStoreUrl(url))}; the only supported query parameter is prefix, given once, such as ?prefix=hub1`,
    )
  }
  parsed.search = ''
  const prefix = prefixes[0]
  if (prefix === undefined) return { url: parsed.toString() }
  checkPrefix(prefix)
  return { url: parsed.toString(), prefix }
}

/**
 * Parses and checks a Redis URL, leaving its query parameters to the caller.
 * @internal
 */
export function parseRedisUrl(url: string): URL {
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {
    parsed = undefined
  }
  const valid =
    parsed !== undefined &&
    (parsed.protocol === 'redis:' || parsed.protocol === 'rediss:') &&
    parsed.hostname !== '' &&
    /^(\/\d*)?$/.test(parsed.pathname)
  if (!parsed || !valid) {
    throw new InvalidOptionError(
      `Invalid Redis URL ${quoteForMessage(redactStoreUrl(url))}; expected redis://host:port/db, such as redis://127.0.0.1:6379/0`,
    )
  }
  return parsed
}

/**
 * Checks a key prefix option.
 * @throws {InvalidOptionError} unless the prefix is a non-empty string.
 * @internal
 */
export function checkPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string' || prefix === '') {
    throw new InvalidOptionError(
      `Invalid Redis key prefix ${quoteForMessage(prefix)}; expected a non-empty string`,
    )
  }
}
