/**
 * The `publish` and `listen` commands: small HTTP clients of a running hub.
 * @module
 */
import { InvalidOptionError } from '../errors.js'

function hubUrl(base: string | undefined, path: string): URL {
  if (!base) throw new InvalidOptionError('Missing hub URL; expected e.g. http://127.0.0.1:8080')
  try {
    return new URL(path, base.endsWith('/') ? base : `${base}/`)
  } catch {
    throw new InvalidOptionError(`Invalid hub URL "${base}"; expected e.g. http://127.0.0.1:8080`)
  }
}

/** Sends a request; a failure names the hub URL and the network error behind fetch's own. */
async function request(url: URL, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init)
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message
    throw new Error(`Request to ${url.origin} failed: ${cause}`, { cause: err })
  }
}

/** `tidings publish <url> <json>`: prints the hub's response and exits with 1 when it is an error. */
export async function publish(args: string[]): Promise<void> {
  const [base, body] = args
  if (body === undefined)
    throw new InvalidOptionError('Missing event JSON; expected {"eventType":"..."}')
  const response = await request(hubUrl(base, 'api/v1/events'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  })
  process.stdout.write(`${await response.text()}\n`)
  if (!response.ok) process.exitCode = 1
}

/** `tidings listen <url> [subscriptionId]`: copies the raw event stream to stdout until stopped. */
export async function listen(args: string[]): Promise<void> {
  const [base, subscriptionId] = args
  const path = subscriptionId ? `api/v1/sse/${encodeURIComponent(subscriptionId)}` : 'api/v1/sse'
  const response = await request(hubUrl(base, path), { headers: { accept: 'text/event-stream' } })
  if (!response.ok || !response.body) {
    process.stderr.write(`${response.status} ${await response.text()}\n`)
    process.exitCode = 1
    return
  }
  for await (const chunk of response.body) process.stdout.write(chunk)
}
