/**
 * The standalone hub: store, subscription service, case module and HTTP server, started and
 * stopped together.
 * @module
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pino, type Logger } from 'pino'
import { MemoryCaseRepository, type CaseRepository } from '../cases/case-repository.js'
import { CaseService } from '../cases/case-service.js'
import { SqliteCaseRepository } from '../cases/sqlite-case-repository.js'
import { SseSubscriptionService } from '../hub/sse-subscription-service.js'
import { createHubRouter } from '../http/router.js'
import type { EventStore } from '../store/event-store.js'
import { openStore, redactStoreUrl } from '../store/open-store.js'
import { SqliteStore } from '../store/sqlite-store.js'
import type { HubConfig } from './hub-config.js'
import {
  logClientError,
  logRequestFailed,
  logServiceEvents,
  logStarted,
  logStopped,
  logStopping,
} from './hub-log.js'

/** Returns the raw response to a request that node:http could not parse, with a JSON body. */
function malformedRequestResponse(err: NodeJS.ErrnoException): string {
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW'
  const body = JSON.stringify({
    error: tooLarge
      ? { code: 'ERR_HEADERS_TOO_LARGE', message: 'Request headers exceed the size limit' }
      : { code: 'ERR_MALFORMED_REQUEST', message: 'Malformed HTTP request' },
  })
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'
  return (
    `HTTP/1.1 ${status}\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  )
}

/** A running hub. */
export interface RunningHub {
  readonly server: Server
  readonly service: SseSubscriptionService
  /** Port the server listens on, useful with port 0. */
  readonly port: number
  /** Stops accepting, ends open streams so clients resume elsewhere, and closes the store. */
  close(): Promise<void>
}

/** Options of `startHub` beyond its configuration. */
export interface StartHubOptions {
  /** Logger; default pino to stdout at `config.logLevel`. */
  readonly logger?: Logger
}

/** Keeps cases in the hub's SQLite file when it has one, so they survive restarts with the log. */
function caseRepositoryFor(store: EventStore): CaseRepository {
  if (store instanceof SqliteStore) return new SqliteCaseRepository(store.database)
  return new MemoryCaseRepository()
}

/** Starts a hub and resolves once it listens. */
export async function startHub(
  config: HubConfig,
  options: StartHubOptions = {},
): Promise<RunningHub> {
  const log = options.logger ?? createHubLogger(config.logLevel)
  const store = await openStore(config.storeUrl, { logger: log.child({ component: 'store' }) })
  const service = new SseSubscriptionService({
    store,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    retryMs: config.retryMs,
    subscriptionTtlMs: config.subscriptionTtlMs,
    retentionMaxAgeMs: config.retentionMaxAgeMs,
    retentionMaxEvents: config.retentionMaxEvents,
    uncleanResumeWindow: config.uncleanResumeWindow,
    slowSubscriberTimeoutMs: config.slowSubscriberTimeoutMs,
    namedEvents: config.namedEvents,
  })
  try {
    await service.ready()
  } catch (err) {
    await store.close()
    throw err
  }
  logServiceEvents(service, log)
  const cases = new CaseService(caseRepositoryFor(store), service)
  const router = createHubRouter({
    service,
    cases,
    console: true,
    maxBodyBytes: config.maxBodyBytes,
    onServerError: (err, req) => logRequestFailed(log, err, req),
  })

  const server = createServer(
    // A request must arrive whole within these limits; streams are unaffected, because their
    // requests have no body. They bound what slow or silent clients can hold.
    { headersTimeout: 10_000, requestTimeout: 30_000 },
    (req, res) => router.lookup(req, res),
  )
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    logClientError(log, err)
    if (socket.writable) socket.end(malformedRequestResponse(err))
    else socket.destroy()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => {
      server.off('error', reject)
      resolve()
    })
  }).catch(async (err: unknown) => {
    await service.close(0)
    throw err
  })
  const port = (server.address() as AddressInfo).port
  logStarted(log, {
    host: config.host,
    port,
    store: store.kind,
    storeUrl: redactStoreUrl(config.storeUrl),
  })

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const startedAt = Date.now()
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      await service.close(config.shutdownGraceMs)
      server.closeAllConnections()
      await stopped
      logStopped(log, Date.now() - startedAt)
    })()
    return closing
  }
  return { server, service, port, close }
}

/**
 * Creates the hub's logger: JSON lines on stdout, written synchronously. The hub logs per
 * connection, never per event, so synchronous writes cost little, and they keep every line in
 * order up to the moment the process exits.
 */
export function createHubLogger(level: string): Logger {
  // Workaround: with an asynchronous destination, pino flushes at exit through sonic-boom's
  // flushSync, which in sonic-boom 4.2.1 retries a failed write forever. When the reader of stdout
  // has gone (a pipe to `tee` that Ctrl-C ended first), every write fails with EPIPE and the
  // process never exits. A synchronous destination registers no such flush.
  return pino({ level }, pino.destination({ dest: 1, sync: true }))
}

/** Exits once every buffered log line is written, or after one second if writing fails. */
export function exitAfterFlush(log: Logger, code: number): void {
  log.flush(() => process.exit(code))
  setTimeout(() => process.exit(code), 1_000)
}

/**
 * Stops the hub on SIGTERM or SIGINT and exits; a second signal exits at once. A signal that
 * arrives before `attach` stops the hub as soon as it is attached.
 */
export function stopOnSignals(log: Logger): { attach(hub: RunningHub): void } {
  let hub: RunningHub | undefined
  let signal: NodeJS.Signals | undefined
  const stop = (running: RunningHub, received: NodeJS.Signals): void => {
    logStopping(log, received, running.service.connectionCount)
    running.close().then(
      () => exitAfterFlush(log, 0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed')
        exitAfterFlush(log, 1)
      },
    )
  }
  const onSignal = (received: NodeJS.Signals): void => {
    if (signal) {
      log.warn({ signal: received }, 'second signal, exiting without waiting')
      process.exit(1)
    }
    signal = received
    if (hub) stop(hub, received)
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  return {
    attach(running) {
      hub = running
      if (signal) stop(running, signal)
    },
  }
}
