/**
 * Classification of the errors that `PostgresStore` receives from `pg`, to find those that mean
 * an unreachable server or a lost connection rather than a failed statement.
 * @module
 */
import pg from 'pg'

/** Error codes of Node.js sockets and DNS that mean the server cannot be reached. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
])

/** SQLSTATE codes of a server that shut down or refused to start a session. */
const SHUTDOWN_SQLSTATES = new Set(['57P01', '57P02', '57P03'])

/**
 * SQLSTATE of a cancelled statement, such as one that ran past `statement_timeout`.
 * @internal
 */
export const QUERY_CANCELED_SQLSTATE = '57014'

/** pg's own errors, which have no code, for a connection that failed or was lost. */
const DRIVER_CONNECTION_MESSAGE =
  /timeout exceeded when trying to connect|Connection terminated|not queryable|Query read timeout/

/**
 * Returns true when an error means that the server is unreachable or the connection was lost.
 * @internal
 */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) {
    // SQLSTATE class 08 is "connection exception".
    return err.code?.startsWith('08') === true || SHUTDOWN_SQLSTATES.has(err.code ?? '')
  }
  if (!(err instanceof Error)) return false
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true
  return DRIVER_CONNECTION_MESSAGE.test(err.message)
}
