import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { subscribe } from './helpers/sse-test-client.js'
import { startTestHub, type TestHub } from './helpers/test-hub.js'

interface BadRequest {
  readonly name: string
  readonly method: string
  readonly path: string
  readonly headers?: Record<string, string>
  readonly body?: string | Buffer
  readonly status: number
  readonly code: string
}

const VALID_ID = '3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60'
const JSON_TYPE = { 'content-type': 'application/json' }

const CASES: readonly BadRequest[] = [
  {
    name: 'malformed subscription id',
    method: 'GET',
    path: '/api/v1/sse/not-a-uuid',
    status: 400,
    code: 'ERR_INVALID_SUBSCRIPTION_ID',
  },
  {
    name: 'subscription id with a newline',
    method: 'GET',
    path: '/api/v1/sse/%0Aabc',
    status: 400,
    code: 'ERR_INVALID_SUBSCRIPTION_ID',
  },
  {
    name: 'malformed Last-Event-ID',
    method: 'GET',
    path: '/api/v1/sse',
    headers: { 'last-event-id': 'garbage' },
    status: 400,
    code: 'ERR_INVALID_LAST_EVENT_ID',
  },
  {
    name: 'non-ASCII Last-Event-ID',
    method: 'GET',
    path: '/api/v1/sse',
    headers: { 'last-event-id': `${VALID_ID}.1\u00e9` },
    status: 400,
    code: 'ERR_INVALID_LAST_EVENT_ID',
  },
  {
    name: 'malformed lastEventId parameter',
    method: 'GET',
    path: `/api/v1/sse?lastEventId=${VALID_ID}.-1`,
    status: 400,
    code: 'ERR_INVALID_LAST_EVENT_ID',
  },
  {
    name: 'body that is not JSON',
    method: 'POST',
    path: '/api/v1/events',
    headers: JSON_TYPE,
    body: '{"eventType":',
    status: 400,
    code: 'ERR_INVALID_JSON',
  },
  {
    name: 'empty body',
    method: 'POST',
    path: '/api/v1/events',
    headers: JSON_TYPE,
    body: '',
    status: 400,
    code: 'ERR_INVALID_JSON',
  },
  {
    name: 'missing eventType',
    method: 'POST',
    path: '/api/v1/events',
    headers: JSON_TYPE,
    body: '{"caseId":"c1"}',
    status: 400,
    code: 'ERR_INVALID_EVENT',
  },
  {
    name: 'numeric eventType',
    method: 'POST',
    path: '/api/v1/events',
    headers: JSON_TYPE,
    body: '{"eventType":42}',
    status: 400,
    code: 'ERR_INVALID_EVENT',
  },
  {
    name: 'empty eventType',
    method: 'POST',
    path: '/api/v1/events',
    headers: JSON_TYPE,
    body: '{"eventType":""}',
    status: 400,
    code: 'ERR_INVALID_EVENT',
  },
  {
    name: 'eventType with a newline',
    method: 'POST',
    path: '/api/v1/events',
    headers: JSON_TYPE,
    body: '{"eventType":"A\\nevent: FORGED"}',
    status: 400,
    code: 'ERR_INVALID_EVENT',
  },
  {
    name: 'eventType with a carriage return',
    method: 'POST',
    path: '/api/v1/events',
    headers: JSON_TYPE,
    body: '{"eventType":"A\\rB"}',
    status: 400,
    code: 'ERR_INVALID_EVENT',
  },
  {
    name: 'reserved eventType',
    method: 'POST',
    path: '/api/v1/events',
    headers: JSON_TYPE,
    body: '{"eventType":"ESTABLISHED_CONNECTION"}',
    status: 400,
    code: 'ERR_INVALID_EVENT',
  },
  {
    name: 'array body',
    method: 'POST',
    path: '/api/v1/events',
    headers: JSON_TYPE,
    body: '[{"eventType":"A"}]',
    status: 400,
    code: 'ERR_INVALID_EVENT',
  },
  {
    name: 'string body',
    method: 'POST',
    path: '/api/v1/events',
    headers: JSON_TYPE,
    body: '"A"',
    status: 400,
    code: 'ERR_INVALID_EVENT',
  },
  {
    name: 'form content type',
    method: 'POST',
    path: '/api/v1/events',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'eventType=A',
    status: 415,
    code: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'oversized body',
    method: 'POST',
    path: '/api/v1/events',
    headers: JSON_TYPE,
    body: JSON.stringify({ eventType: 'BIG', padding: 'x'.repeat(70_000) }),
    status: 413,
    code: 'ERR_PAYLOAD_TOO_LARGE',
  },
  {
    name: 'unknown route',
    method: 'GET',
    path: '/api/v2/sse',
    status: 404,
    code: 'ERR_ROUTE_NOT_FOUND',
  },
  {
    name: 'wrong method',
    method: 'DELETE',
    path: '/api/v1/events',
    status: 405,
    code: 'ERR_METHOD_NOT_ALLOWED',
  },
  {
    name: 'assignee missing',
    method: 'PUT',
    path: `/api/v1/cases/${VALID_ID}/assignee`,
    headers: JSON_TYPE,
    body: '{}',
    status: 400,
    code: 'ERR_INVALID_REQUEST',
  },
  {
    name: 'unknown case',
    method: 'GET',
    path: `/api/v1/cases/${VALID_ID}`,
    status: 404,
    code: 'ERR_CASE_NOT_FOUND',
  },
  {
    name: 'malformed case id',
    method: 'GET',
    path: '/api/v1/cases/../../etc',
    status: 404,
    code: 'ERR_ROUTE_NOT_FOUND',
  },
  {
    name: 'case title with a lone surrogate',
    method: 'POST',
    path: '/api/v1/cases',
    headers: JSON_TYPE,
    body: '{"title":"a\\ud800"}',
    status: 400,
    code: 'ERR_INVALID_REQUEST',
  },
  {
    name: 'case title with a C1 control character',
    method: 'POST',
    path: '/api/v1/cases',
    headers: JSON_TYPE,
    body: '{"title":"a\\u0085b"}',
    status: 400,
    code: 'ERR_INVALID_REQUEST',
  },
  {
    name: 'case title of the wrong type',
    method: 'POST',
    path: '/api/v1/cases',
    headers: JSON_TYPE,
    body: '{"title":7}',
    status: 400,
    code: 'ERR_INVALID_REQUEST',
  },
]

/** Sends a request with node:http, which lets tests set any header and body byte. */
function send(
  hub: TestHub,
  bad: BadRequest,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: hub.port,
        method: bad.method,
        path: bad.path,
        headers: bad.headers ?? {},
        agent: false,
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      },
    )
    req.on('error', reject)
    req.end(bad.body)
  })
}

describe('bad input', () => {
  let hub: TestHub

  before(async () => {
    hub = await startTestHub()
  })
  after(() => hub.close())

  for (const bad of CASES) {
    it(`answers ${bad.status} ${bad.code} for ${bad.name}`, async () => {
      const { head: headBefore } = await hub.service.store.bounds()
      const response = await send(hub, bad)
      assert.equal(response.status, bad.status)
      assert.equal(response.headers['content-type'], 'application/json; charset=utf-8')
      const body = JSON.parse(response.body) as { error: { code: string; message: string } }
      assert.equal(body.error.code, bad.code)
      assert.ok(body.error.message.length > 10, body.error.message)
      const { head: headAfter } = await hub.service.store.bounds()
      assert.equal(headAfter, headBefore)
    })
  }

  it('names the allowed methods on a 405', async () => {
    const response = await send(
      hub,
      CASES.find((bad) => bad.status === 405)!,
    )
    assert.equal(response.headers['allow'], 'POST')
  })

  it('keeps other streams running through a burst of bad requests', async () => {
    const stream = await subscribe(`${hub.url}/api/v1/sse`)
    await Promise.all(CASES.map((bad) => send(hub, bad)))
    const published = await hub.service.notifySubscribers({ eventType: 'STILL_HERE' })
    const [, event] = await stream.client.waitForEvents(2)
    assert.equal(event!.json.eventType, 'STILL_HERE')
    assert.equal(event!.id, `${stream.subscriptionId}.${published.position}`)
    stream.client.close()
  })

  it('answers oversized headers with 431 and a JSON body', async () => {
    const { connect } = await import('node:net')
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(hub.port, '127.0.0.1', () =>
        socket.write(`GET /api/v1/sse HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`),
      )
      let text = ''
      socket.setEncoding('utf8')
      socket.on('data', (chunk: string) => (text += chunk))
      socket.on('error', () => resolve(text))
      socket.on('close', () => resolve(text))
    })
    assert.match(reply, /^HTTP\/1\.1 431 /)
    assert.match(reply, /"code":"ERR_HEADERS_TOO_LARGE"/)
  })

  it('answers a malformed HTTP request with 400 and keeps serving', async () => {
    const { connect } = await import('node:net')
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(hub.port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'))
      let text = ''
      socket.setEncoding('utf8')
      socket.on('data', (chunk: string) => (text += chunk))
      socket.on('close', () => resolve(text))
    })
    assert.match(reply, /^HTTP\/1\.1 400 /)
    const health = await fetch(`${hub.url}/healthz`)
    assert.equal(health.status, 200)
  })
})

describe('publish body', () => {
  let hub: TestHub

  before(async () => {
    hub = await startTestHub()
  })
  after(() => hub.close())

  it('delivers the JSON text as sent, numbers included', async () => {
    const stream = await subscribe(`${hub.url}/api/v1/sse`)
    const body =
      '{\n  "eventType": "EXACT",\r\n  "big": 12345678901234567890,\n  "negz": -0, "s": "a\u2028b"\n}\n'
    const response = await fetch(`${hub.url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body,
    })
    assert.equal(response.status, 202)
    const [, event] = await stream.client.waitForEvents(2)
    assert.equal(
      event!.data,
      '{   "eventType": "EXACT",   "big": 12345678901234567890,   "negz": -0, "s": "a\\u2028b" }',
    )
    stream.client.close()
  })

  it('rejects a charset other than UTF-8', async () => {
    const response = await fetch(`${hub.url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=iso-8859-1' },
      body: '{"eventType":"LATIN"}',
    })
    assert.equal(response.status, 415)
    const body = (await response.json()) as { error: { code: string } }
    assert.equal(body.error.code, 'ERR_UNSUPPORTED_MEDIA_TYPE')
  })
})
