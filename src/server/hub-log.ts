/**
 * Every log line of the standalone hub, in one place so that their wording stays consistent.
 * Lines are pino-shaped: an object of fields first, then a short fixed message. Event payloads,
 * headers and tokens are never logged.
 * @module
 */
import type { IncomingMessage } from 'node:http'
import type { Logger } from 'pino'
import type { SseSubscriptionService } from '../hub/sse-subscription-service.js'

/** Socket errors that mean the client went away, which is normal for long-lived streams. */
const CLIENT_GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE'])

/** Logs the service's lifecycle events. */
export function logServiceEvents(service: SseSubscriptionService, log: Logger): void {
  service.on('connected', (info) => {
    log.info(
      {
        subscriptionId: info.subscriptionId,
        connId: info.connectionId,
        resumed: info.resumed,
        reset: info.reset,
        ...(info.resetReason ? { resetReason: info.resetReason } : {}),
        fromPosition: info.fromPosition,
        missedEvents: info.missedEvents,
        connections: info.openConnections,
      },
      'subscriber connected',
    )
  })
  service.on('disconnected', (info) => {
    const fields = {
      subscriptionId: info.subscriptionId,
      connId: info.connectionId,
      reason: info.reason,
      state: info.connectionState,
      durationMs: info.durationMs,
      eventsSent: info.eventsSent,
      connections: info.openConnections,
    }
    if (info.reason === 'slow') log.warn(fields, 'slow subscriber disconnected')
    else log.info(fields, 'subscriber disconnected')
  })
  service.on('failed', (failure) => {
    const fields = {
      kind: failure.kind,
      err: failure.err,
      ...(failure.subscriptionId ? { subscriptionId: failure.subscriptionId } : {}),
    }
    log.error(fields, 'hub operation failed')
  })
  service.on('maintained', (info) => {
    if (info.trimmedEvents === 0 && info.expiredSubscriptions === 0) return
    log.info(info, 'retention applied')
  })
}

/** Logs a request that failed with a 5xx status. */
export function logRequestFailed(log: Logger, err: unknown, req: IncomingMessage): void {
  log.error({ err, method: req.method, path: (req.url ?? '').split('?')[0] }, 'request failed')
}

/** Logs a socket error outside any request; a client going away is only `debug`. */
export function logClientError(log: Logger, err: NodeJS.ErrnoException): void {
  if (err.code && CLIENT_GONE.has(err.code))
    log.debug({ code: err.code }, 'client connection reset')
  else log.warn({ err }, 'client connection error')
}

export function logStarted(
  log: Logger,
  fields: { host: string; port: number; store: string; storeUrl: string },
): void {
  log.info(fields, 'hub started')
}

export function logStopping(log: Logger, signal: string, connections: number): void {
  log.info({ signal, connections }, 'hub stopping')
}

export function logStopped(log: Logger, durationMs: number): void {
  log.info({ durationMs }, 'hub stopped')
}
