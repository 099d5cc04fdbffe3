/**
 * The hub's HTTP routes on find-my-way, the router Fastify uses, mounted on plain node:http.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import Router from 'find-my-way'
import type { CaseService } from '../cases/case-service.js'
import { MethodNotAllowedError, RouteNotFoundError, quoteForMessage } from '../errors.js'
import type { SseSubscriptionService } from '../hub/sse-subscription-service.js'
import {
  handleCaseAssign,
  handleCaseCreate,
  handleCaseGet,
  handleCaseList,
  handleCaseUnassign,
} from './case-handlers.js'
import { carriesEventStream } from '../hub/subscriber-connection.js'
import { createConsoleRoutes } from './console-routes.js'
import { sendError, sendJson, statusOf } from './json-response.js'
import { handlePublish, handleSubscribe } from './sse-handlers.js'

/** Options of `createHubRouter`. */
export interface HubRouterOptions {
  readonly service: SseSubscriptionService
  /** Mounts the case module under `/api/v1/cases` when given. */
  readonly cases?: CaseService
  /**
   * Serves the live console at `/`, with its scripts under `/console/` and `/client/`. Default:
   * true when `cases` is given, because the console's buttons call the case module. The
   * standalone hub relies on this default.
   */
  readonly console?: boolean
  /** Maximum size of a request body, in bytes. */
  readonly maxBodyBytes?: number
  /** Hears of every request that failed with a 5xx status, for logging. */
  readonly onServerError?: (err: unknown, req: IncomingMessage) => void
}

type RouteHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  params: Readonly<Record<string, string | undefined>>,
) => Promise<void> | void

/** Routes requests to the hub's handlers. */
export interface HubRouter {
  /**
   * Handles a request whose path belongs to the hub and returns true; returns false for other
   * paths, so that a host application can pass the request on.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean
  /** Handles every request; paths that are not the hub's get a JSON 404 or 405. */
  lookup(req: IncomingMessage, res: ServerResponse): void
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'] as const

/** Sockets that close after their current response and take no further request. */
const closingSockets = new WeakSet<Socket>()

/** Creates the router of the hub's HTTP API. */
export function createHubRouter(options: HubRouterOptions): HubRouter {
  const { service, cases, maxBodyBytes } = options
  const router = Router({ ignoreTrailingSlash: true, maxParamLength: 200 })
  const route = (method: (typeof METHODS)[number], path: string, handler: RouteHandler): void => {
    router.on(method, path, handler as unknown as Router.Handler<Router.HTTPVersion.V1>)
  }

  route('GET', '/api/v1/sse', (req, res) => handleSubscribe(service, req, res, undefined))
  route('GET', '/api/v1/sse/:subscriptionId', (req, res, params) =>
    handleSubscribe(service, req, res, params['subscriptionId']),
  )
  route('POST', '/api/v1/events', (req, res) =>
    handlePublish(service, req, res, maxBodyBytes === undefined ? {} : { maxBodyBytes }),
  )
  route('GET', '/healthz', (_req, res) =>
    sendJson(res, 200, {
      status: 'ok',
      store: service.store.kind,
      connections: service.connectionCount,
    }),
  )
  if (cases) {
    const limit = maxBodyBytes
    route('POST', '/api/v1/cases', (req, res) => handleCaseCreate(cases, req, res, limit))
    route('GET', '/api/v1/cases', (_req, res) => handleCaseList(cases, res))
    route('GET', '/api/v1/cases/:caseId', (_req, res, params) =>
      handleCaseGet(cases, res, params['caseId']),
    )
    route('PUT', '/api/v1/cases/:caseId/assignee', (req, res, params) =>
      handleCaseAssign(cases, req, res, params['caseId'], limit),
    )
    route('DELETE', '/api/v1/cases/:caseId/assignee', (_req, res, params) =>
      handleCaseUnassign(cases, res, params['caseId']),
    )
  }
  if (options.console ?? cases !== undefined) {
    for (const { path, handler } of createConsoleRoutes()) {
      // node:http writes no body in a response to HEAD, so the GET handler serves both.
      route('GET', path, handler)
      route('HEAD', path, handler)
    }
  }

  const run = (
    req: IncomingMessage,
    res: ServerResponse,
    handler: RouteHandler,
    params: Record<string, string | undefined>,
  ) => {
    const fail = (err: unknown): void => {
      const status = statusOf(err)
      if (status >= 500) options.onServerError?.(err, req)
      // A 413 leaves the body unread and closes the connection, so requests pipelined behind it
      // must not run, because their responses could never be sent.
      if (status === 413) closingSockets.add(req.socket)
      sendError(res, err)
    }
    try {
      const pending = handler(req, res, params)
      if (pending) pending.catch(fail)
    } catch (err) {
      fail(err)
    }
  }

  const pathOf = (req: IncomingMessage): string => {
    const url = req.url ?? '/'
    const query = url.indexOf('?')
    return query === -1 ? url : url.slice(0, query)
  }

  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (carriesEventStream(req.socket)) {
      // Pipelined behind an event stream, which never ends, so no response could ever be sent.
      req.socket.destroy()
      return true
    }
    if (closingSockets.has(req.socket)) return true
    const found = router.find((req.method ?? 'GET') as Router.HTTPMethod, pathOf(req))
    if (!found) return false
    const handler = found.handler as unknown as RouteHandler
    if (res.socket) {
      run(req, res, handler, found.params)
    } else {
      // A pipelined request waits until the responses before it are sent. If one of them closes
      // the connection (a 413 leaves its body unread), this one never runs, so it changes nothing.
      res.once('socket', () => run(req, res, handler, found.params))
    }
    return true
  }

  const lookup = (req: IncomingMessage, res: ServerResponse): void => {
    if (handle(req, res)) return
    const path = pathOf(req)
    const allowed = METHODS.filter((method) => router.find(method, path) !== null)
    const err =
      allowed.length > 0
        ? new MethodNotAllowedError(
            `Method ${req.method} is not allowed on ${quoteForMessage(path)}; use ${allowed.join(' or ')}`,
            allowed,
          )
        : new RouteNotFoundError(
            `No route for ${req.method} ${quoteForMessage(path)}; see the HTTP API in the README`,
          )
    sendError(res, err)
  }

  return { handle, lookup }
}
