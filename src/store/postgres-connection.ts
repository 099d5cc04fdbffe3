/**
 * The connections of `PostgresStore`: the settings that the pool and the listening connection
 * share, and ending them within a time limit.
 * @module
 */
import { Socket } from 'node:net'
import type pg from 'pg'

/**
 * Extra time the client waits beyond `statement_timeout`, so that the server's cancel wins.
 * @internal
 */
export const CLIENT_TIMEOUT_MARGIN_MS = 1_000
/** Ends a transaction left idle by a stuck process, which would keep other hubs from trimming. */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000
const KEEP_ALIVE_INITIAL_DELAY_MS = 10_000
/**
 * Time `PostgresStore.close()` waits for connections to end cleanly. Ending one waits for the server's reply,
 * which never comes while the network is silent, so the sockets are destroyed after this time.
 */
const CLOSE_TIMEOUT_MS = 2_000

/**
 * Settings from which the connections of a store are built.
 * @internal
 */
export interface ConnectionSettings {
  readonly url: string
  readonly connectTimeoutMs: number
  readonly queryTimeoutMs: number
  /** Creates the socket of each connection. */
  readonly stream: () => Socket
}

/**
 * Builds the `pg` settings that the pool and the listening connection share.
 * @internal
 */
export function createClientConfig(settings: ConnectionSettings): pg.ClientConfig {
  return {
    connectionString: settings.url,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    statement_timeout: settings.queryTimeoutMs,
    query_timeout: settings.queryTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEP_ALIVE_INITIAL_DELAY_MS,
    stream: settings.stream,
  }
}

/**
 * The open sockets of a store's connections, destroyed when ending the connections cleanly takes
 * too long.
 * @internal
 */
export class OpenSockets {
  readonly #sockets = new Set<Socket>()

  /** Creates the socket of a connection, and tracks it until it closes. */
  create(): Socket {
    const socket = new Socket()
    this.#sockets.add(socket)
    socket.once('close', () => this.#sockets.delete(socket))
    return socket
  }

  /**
   * Waits for `ended`, a promise that never rejects, and destroys the open sockets when it has not
   * settled after `CLOSE_TIMEOUT_MS`.
   */
  async waitForEnd(ended: Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), CLOSE_TIMEOUT_MS)
    })
    const late = await Promise.race([ended.then(() => false), timedOut])
    clearTimeout(timer)
    if (!late) return

    for (const socket of this.#sockets) socket.destroy()
    await ended
  }
}
