/**
 * Routes of the live console: the page at `/` and the JavaScript it loads. The scripts are the
 * TypeScript build's output in `dist/console/` and `dist/client/`, served as they are, so the hub
 * compiles nothing at request time.
 * @module
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { RouteNotFoundError, quoteForMessage } from '../errors.js'
import { CONSOLE_PAGE_HTML, CONSOLE_STYLE } from './console-page.js'

/** A console route, in the shape the hub's router mounts. @internal */
export interface ConsoleRoute {
  readonly path: string
  readonly handler: (
    req: IncomingMessage,
    res: ServerResponse,
    params: Readonly<Record<string, string | undefined>>,
  ) => Promise<void> | void
}

/**
 * Names of the files the console serves. Only plain names qualify, so a request can never leave
 * the two folders: no slash, no dot other than the one before `js`, no source maps or typings.
 */
const SCRIPT_NAME = /^[a-z0-9-]+\.js$/

/**
 * Whether this module runs from its TypeScript source (through tsx, as in tests). The folders
 * next to it then hold `.ts` files, which browsers cannot run.
 */
const RUNS_FROM_SOURCES = import.meta.url.endsWith('.ts')

/** Folders of the scripts, by the first segment of their URL path. */
const SCRIPT_FOLDERS = {
  console: new URL('../console/', import.meta.url),
  client: new URL('../client/', import.meta.url),
} as const

/**
 * Content-Security-Policy of the page: scripts and requests only from the hub itself, and the one
 * inline stylesheet by its hash.
 */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  `style-src 'sha256-${createHash('sha256').update(CONSOLE_STYLE).digest('base64')}'`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const PAGE_BODY = Buffer.from(CONSOLE_PAGE_HTML, 'utf8')

/** `GET /`: the console page. */
function sendPage(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': PAGE_BODY.length,
    'cache-control': 'no-cache',
    'content-security-policy': PAGE_CSP,
    'x-content-type-options': 'nosniff',
  })
  res.end(PAGE_BODY)
}

/**
 * Sends one built script of `folder`. Files are read on each request, so a rebuild shows on the
 * next page load without a restart.
 * @throws {RouteNotFoundError} when the name is not a script name, the hub runs from sources, or
 *   the build has no such file.
 */
async function sendScript(
  res: ServerResponse,
  folder: keyof typeof SCRIPT_FOLDERS,
  name: string | undefined,
): Promise<void> {
  if (name === undefined || !SCRIPT_NAME.test(name)) {
    throw new RouteNotFoundError(
      `No console script ${quoteForMessage(name ?? '')}; script names are lowercase letters, digits and dashes ending in ".js"`,
    )
  }
  if (RUNS_FROM_SOURCES) {
    throw new RouteNotFoundError(
      `Console script "${folder}/${name}" is not built, because the hub runs from its TypeScript sources; run "npm run build" and start the hub with "npm start"`,
    )
  }

  let body: Buffer
  try {
    body = await readFile(new URL(name, SCRIPT_FOLDERS[folder]))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'ENOENT' && code !== 'EISDIR' && code !== 'ENOTDIR') throw err
    throw new RouteNotFoundError(
      `Console script "${folder}/${name}" not found in the hub's build; run "npm run build" and restart the hub if the build is out of date`,
    )
  }
  res.writeHead(200, {
    'content-type': 'text/javascript; charset=utf-8',
    'content-length': body.length,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  })
  res.end(body)
}

/**
 * Returns the console's routes: the page at `/`, the console's scripts under `/console/` and the
 * client library under `/client/`. The URL layout mirrors `dist/`, so the console's import of
 * `../client/index.js` resolves in the browser as it does on disk. The router mounts each route
 * for GET and HEAD. @internal
 */
export function createConsoleRoutes(): readonly ConsoleRoute[] {
  return [
    { path: '/', handler: sendPage },
    {
      path: '/console/:file',
      handler: (_req, res, params) => sendScript(res, 'console', params['file']),
    },
    {
      path: '/client/:file',
      handler: (_req, res, params) => sendScript(res, 'client', params['file']),
    },
  ]
}
