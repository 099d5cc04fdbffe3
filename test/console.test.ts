import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { createHubRouter } from '../src/http/router.js'
import { SseSubscriptionService } from '../src/hub/sse-subscription-service.js'
import { MemoryStore } from '../src/store/memory-store.js'
import {
  chromiumRequired,
  chromiumSkipReason,
  launchChromium,
  type ChromiumSession,
} from './helpers/browser.js'
import { buildIfStale, startBuiltHub, stopBuiltHub } from './helpers/built-hub.js'
import type { HubProcess } from './helpers/hub-process.js'
import { makeTempDir, postJson, startTestHub, type TestHub } from './helpers/test-hub.js'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Publishes one event over HTTP and returns its position. */
async function publish(hubUrl: string, event: Record<string, unknown>): Promise<number> {
  const response = await postJson(`${hubUrl}/api/v1/events`, event)
  assert.equal(response.status, 202, JSON.stringify(response.body))
  return response.body.position as number
}

async function getText(url: string, method = 'GET') {
  const response = await fetch(url, { method })
  return { status: response.status, headers: response.headers, body: await response.text() }
}

describe('console routes', () => {
  let hub: TestHub

  before(async () => {
    hub = await startTestHub()
  })
  after(() => hub.close())

  it('serves the page with a CSP', async () => {
    const page = await getText(`${hub.url}/`)

    assert.equal(page.status, 200)
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8')
    assert.equal(page.headers.get('cache-control'), 'no-cache')
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff')
    const policy = page.headers.get('content-security-policy') ?? ''
    assert.match(policy, /default-src 'none'/)
    assert.match(policy, /script-src 'self'/)
    assert.match(policy, /style-src 'sha256-[A-Za-z0-9+/]+=*'/)
    assert.match(page.body, /<script type="module" src="\.\/console\/console-app\.js"><\/script>/)
    assert.match(page.body, /<caption>/)
    assert.doesNotMatch(page.body, /https?:\/\//, 'the page loads nothing from other origins')
  })

  it('answers HEAD without a body', async () => {
    const head = await getText(`${hub.url}/`, 'HEAD')

    assert.equal(head.status, 200)
    assert.equal(head.body, '')
    assert.ok(Number(head.headers.get('content-length')) > 0)
  })

  it('asks for a build under tsx', async () => {
    const response = await getText(`${hub.url}/console/console-app.js`)

    assert.equal(response.status, 404)
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8')
    const { error } = JSON.parse(response.body)
    assert.equal(error.code, 'ERR_ROUTE_NOT_FOUND')
    assert.match(error.message, /runs from its TypeScript sources; run "npm run build"/)
  })

  it('rejects names outside the allowlist', async () => {
    const paths = [
      '/client/..%2Fhttp%2Frouter.js',
      '/client/%2e%2e%2fcli%2fmain.js',
      '/console/console-app.ts',
      '/client/index.d.ts',
      '/client/index.js.map',
      '/client/Index.js',
      '/client/.js',
    ]
    for (const path of paths) {
      const response = await getText(`${hub.url}${path}`)
      assert.equal(response.status, 404, path)
      assert.equal(JSON.parse(response.body).error.code, 'ERR_ROUTE_NOT_FOUND', path)
      assert.match(JSON.parse(response.body).error.message, /^No console script/, path)
    }
  })

  it('console: false leaves / to the host', async () => {
    const service = new SseSubscriptionService({ store: new MemoryStore() })
    const router = createHubRouter({ service, console: false })
    const server = createServer((req, res) => {
      if (!router.handle(req, res)) res.writeHead(418).end()
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      assert.equal((await getText(`${url}/`)).status, 418)
      assert.equal((await getText(`${url}/client/index.js`)).status, 418)
    } finally {
      server.close()
      await service.close(0)
    }
  })
})

describe('console routes of the built hub', () => {
  let temp: ReturnType<typeof makeTempDir>
  let hub: HubProcess

  before(async () => {
    buildIfStale()
    temp = makeTempDir()
    hub = await startBuiltHub(['--port', '0', '--store', `sqlite:${join(temp.dir, 'hub.db')}`])
  })
  after(async () => {
    await stopBuiltHub(hub)
    temp.remove()
  })

  it('serves built scripts with their headers', async () => {
    for (const path of ['/console/console-app.js', '/client/index.js']) {
      const response = await getText(`${hub.url}${path}`)
      assert.equal(response.status, 200, path)
      assert.equal(response.headers.get('content-type'), 'text/javascript; charset=utf-8', path)
      assert.equal(response.headers.get('cache-control'), 'no-cache', path)
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', path)
    }
    const app = await getText(`${hub.url}/console/console-app.js`)
    assert.match(app.body, /from '\.\.\/client\/index\.js'/)
  })

  it('reports a script missing from the build', async () => {
    const response = await getText(`${hub.url}/client/no-such-module.js`)

    assert.equal(response.status, 404)
    const { error } = JSON.parse(response.body)
    assert.equal(error.code, 'ERR_ROUTE_NOT_FOUND')
    assert.match(error.message, /"client\/no-such-module\.js" not found in the hub's build/)
  })

  it('rejects paths outside the build', async () => {
    const response = await getText(`${hub.url}/console/..%2Fcli%2Fmain.js`)

    assert.equal(response.status, 404)
    assert.match(JSON.parse(response.body).error.message, /^No console script/)
  })
})

/** One row of the console's event table, as the page shows it. */
interface ShownRow {
  readonly type: string
  readonly id: string
  readonly properties: string
}

function readRows(page: Page): Promise<ShownRow[]> {
  return page.$$eval('#event-rows tr', (rows) =>
    rows.map((row) => ({
      type: row.querySelector('td.type')?.textContent ?? '',
      id: row.querySelector('td.id')?.textContent ?? '',
      properties: row.querySelector('td.properties')?.textContent ?? '',
    })),
  )
}

async function readText(page: Page, selector: string): Promise<string> {
  return (await page.textContent(selector)) ?? ''
}

/** Waits until the table shows `count` rows. */
async function waitForRowCount(page: Page, count: number): Promise<void> {
  await page.waitForFunction(
    (expected) => document.querySelectorAll('#event-rows tr').length === expected,
    count,
  )
}

/** Waits until the received count is `count`. */
async function waitForReceived(page: Page, count: number): Promise<void> {
  await page.waitForFunction(
    (expected) => document.getElementById('received-count')?.textContent === String(expected),
    count,
  )
}

async function waitForState(page: Page, state: string): Promise<void> {
  await page.waitForFunction(
    (expected) => document.getElementById('connection-state')?.textContent === expected,
    state,
  )
}

function assertUniqueIds(rows: readonly ShownRow[]): void {
  const ids = rows.map((row) => row.id)
  assert.equal(new Set(ids).size, ids.length, `duplicate rows: ${ids.join(', ')}`)
}

describe('console in Chromium', () => {
  if (chromiumSkipReason !== false && chromiumRequired) {
    it('finds Chromium', () => {
      assert.fail(`${chromiumSkipReason}; install it or unset TIDINGS_REQUIRE_SERVICES`)
    })
    return
  }
  const skip = chromiumSkipReason
  // The tests below run in order on one page and one hub, each continuing where the last ended,
  // as a person using the console would.
  let temp: ReturnType<typeof makeTempDir>
  let browser: ChromiumSession | undefined
  let page: Page
  let hub: HubProcess
  let port: number
  let storeUrl: string
  const pageErrors: string[] = []
  let caseId: string

  const hubArgs = (): string[] => [
    '--port',
    String(port),
    '--store',
    storeUrl,
    '--retry-ms',
    '200',
    '--log-level',
    'info',
  ]

  /** Stops the hub with SIGTERM and starts it again on `storeUrl` and the same port. */
  async function restartHub(): Promise<void> {
    await stopBuiltHub(hub)
    hub = await startBuiltHub(hubArgs())
  }

  before(async () => {
    if (skip) return
    buildIfStale()
    temp = makeTempDir()
    port = 0
    storeUrl = `sqlite:${join(temp.dir, 'hub.db')}`
    hub = await startBuiltHub(hubArgs())
    port = hub.port
    browser = await launchChromium()
    page = await browser.context.newPage()
    page.setDefaultTimeout(15_000)
    page.on('pageerror', (error) => pageErrors.push(error.message))
    page.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) pageErrors.push(message.text())
    })
  })
  after(async () => {
    await browser?.close()
    if (hub) await stopBuiltHub(hub)
    temp?.remove()
  })

  it('shows state and subscription id', { skip }, async () => {
    await page.goto(`${hub.url}/`)
    await waitForState(page, 'open')

    const subscriptionId = await readText(page, '#subscription-id')
    assert.match(subscriptionId, UUID)
    const connected = hub.logs.filter((line) => line['msg'] === 'subscriber connected')
    assert.deepEqual(
      connected.map((line) => line['subscriptionId']),
      [subscriptionId],
    )
    assert.equal(await page.isHidden('#script-notice'), true)
    assert.equal(await page.getAttribute('#connection-state', 'aria-live'), 'polite')
    assert.equal(await readText(page, '#received-count'), '0')
  })

  it('changes a case with the buttons', { skip }, async () => {
    // Enter in the title field submits the form, as a keyboard user would create a case.
    await page.fill('#case-title', 'Printer on fire')
    await page.press('#case-title', 'Enter')
    await waitForRowCount(page, 1)
    const cases = await fetch(`${hub.url}/api/v1/cases`).then((response) => response.json())
    assert.equal(cases.length, 1)
    assert.equal(cases[0].title, 'Printer on fire')
    caseId = cases[0].id
    assert.equal(await page.inputValue('#case-id'), caseId)
    assert.equal(await readText(page, '#action-status'), `Created case ${caseId}`)

    await page.fill('#assignee-id', 'alice')
    await page.getByRole('button', { name: 'Assign', exact: true }).click()
    await waitForRowCount(page, 2)
    await page.getByRole('button', { name: 'Unassign', exact: true }).click()
    await waitForRowCount(page, 3)

    const rows = await readRows(page)
    assert.deepEqual(
      rows.map((row) => [row.type, row.properties]),
      [
        ['CASE_UNASSIGNED', JSON.stringify({ caseId })],
        ['CASE_ASSIGNED', JSON.stringify({ caseId, assigneeId: 'alice' })],
        ['CASE_CREATED', JSON.stringify({ caseId })],
      ],
    )
    const subscriptionId = await readText(page, '#subscription-id')
    for (const row of rows) assert.match(row.id, new RegExp(`^${subscriptionId}\\.\\d+$`))
    assert.equal(await readText(page, '#received-count'), '3')
    assert.equal(await readText(page, '#shown-count'), '3')
    assert.equal(await page.isHidden('#action-error'), true)
  })

  it("shows the hub's error message", { skip }, async () => {
    const unknownCase = randomUUID()
    await page.fill('#case-id', unknownCase)
    await page.getByRole('button', { name: 'Assign', exact: true }).click()
    await page.waitForSelector('#action-error:not([hidden])')
    assert.equal(
      await readText(page, '#action-error'),
      `ERR_CASE_NOT_FOUND: Case "${unknownCase}" not found`,
    )

    await page.fill('#case-id', caseId)
    await page.fill('#assignee-id', '')
    await page.getByRole('button', { name: 'Assign', exact: true }).click()
    await page.waitForFunction(() =>
      document.getElementById('action-error')?.textContent?.startsWith('ERR_INVALID_REQUEST: '),
    )
    assert.equal(await page.getAttribute('#action-error', 'role'), 'alert')
    assert.equal((await readRows(page)).length, 3, 'a failed request adds no event')

    await page.fill('#assignee-id', 'bob')
    await page.getByRole('button', { name: 'Assign', exact: true }).click()
    await waitForRowCount(page, 4)
    assert.equal(await page.isHidden('#action-error'), true, 'a success hides the last error')
    assert.equal(await readText(page, '#action-status'), `Assigned case ${caseId} to bob`)
  })

  it('filters rows by event type', { skip }, async () => {
    const options = await page.$$eval('#type-filter option', (all) =>
      all.map((option) => (option as HTMLOptionElement).value),
    )
    assert.deepEqual(options, ['', 'CASE_ASSIGNED', 'CASE_CREATED', 'CASE_UNASSIGNED'])

    await page.selectOption('#type-filter', 'CASE_ASSIGNED')
    await waitForRowCount(page, 2)
    assert.deepEqual(
      (await readRows(page)).map((row) => row.properties),
      [
        JSON.stringify({ caseId, assigneeId: 'bob' }),
        JSON.stringify({ caseId, assigneeId: 'alice' }),
      ],
    )
    assert.equal(await readText(page, '#shown-count'), '2')
    assert.equal(await readText(page, '#received-count'), '4')

    await page.selectOption('#type-filter', '')
    await waitForRowCount(page, 4)
  })

  it('shows events missed during a restart', { skip }, async () => {
    const subscriptionId = await readText(page, '#subscription-id')
    await stopBuiltHub(hub)
    await waitForState(page, 'reconnecting')
    hub = await startBuiltHub(hubArgs())
    const published = [
      await publish(hub.url, { eventType: 'INVOICE_PAID', invoiceId: 'inv-41' }),
      await publish(hub.url, { eventType: 'INVOICE_PAID', invoiceId: 'inv-42' }),
    ]
    await waitForRowCount(page, 6)
    await waitForState(page, 'open')
    // Time for a duplicate to arrive, if the resume repeated anything.
    await page.waitForTimeout(300)

    const rows = await readRows(page)
    assert.deepEqual(
      rows.map((row) => row.type),
      [
        'INVOICE_PAID',
        'INVOICE_PAID',
        'CASE_ASSIGNED',
        'CASE_UNASSIGNED',
        'CASE_ASSIGNED',
        'CASE_CREATED',
      ],
    )
    assert.deepEqual(
      rows.slice(0, 2).map((row) => [row.id, row.properties]),
      [
        [`${subscriptionId}.${published[1]}`, '{"invoiceId":"inv-42"}'],
        [`${subscriptionId}.${published[0]}`, '{"invoiceId":"inv-41"}'],
      ],
    )
    assertUniqueIds(rows)
    assert.equal(await readText(page, '#subscription-id'), subscriptionId)
    const resumed = hub.logs.filter(
      (line) => line['msg'] === 'subscriber connected' && line['subscriptionId'] === subscriptionId,
    )
    assert.equal(resumed.length, 1)
    assert.equal(resumed[0]!['resumed'], true)
    assert.equal(resumed[0]!['reset'], false)
    assert.equal(await page.isHidden('#reset-notice'), true)

    // The screenshot shows the console as it is used: cases, published events, a resume.
    const artifacts = join(ROOT, 'test-artifacts')
    mkdirSync(artifacts, { recursive: true })
    await page.screenshot({ path: join(artifacts, 'console.png') })
    if (process.env.TIDINGS_UPDATE_SCREENSHOT === '1') {
      await page.screenshot({ path: join(ROOT, 'docs', 'console.png') })
    }
  })

  it('pauses and resumes the table', { skip }, async () => {
    await page.getByRole('button', { name: 'Pause' }).click()
    assert.equal(await page.getAttribute('#pause-button', 'aria-pressed'), 'true')
    for (let i = 0; i < 3; i++) await publish(hub.url, { eventType: 'PAUSED_EVENT', i })
    await waitForReceived(page, 9)
    assert.equal(await readText(page, '#pending-count'), 'Paused: 3 new events')
    assert.equal((await readRows(page)).length, 6, 'no rows are added while paused')
    await page.selectOption('#type-filter', 'CASE_CREATED')
    await waitForRowCount(page, 1)
    await page.selectOption('#type-filter', '')
    await waitForRowCount(page, 6)

    await page.getByRole('button', { name: 'Resume' }).click()
    await waitForRowCount(page, 9)
    assert.equal(await page.getAttribute('#pause-button', 'aria-pressed'), 'false')
    assert.equal(await page.isHidden('#pending-count'), true)
    assert.deepEqual(
      (await readRows(page)).slice(0, 3).map((row) => row.properties),
      ['{"i":2}', '{"i":1}', '{"i":0}'],
    )
  })

  it('clears the table and keeps counting', { skip }, async () => {
    await page.getByRole('button', { name: 'Clear' }).click()
    await waitForRowCount(page, 0)

    assert.equal(await readText(page, '#shown-count'), '0')
    assert.equal(await readText(page, '#received-count'), '9')
    assert.equal(await page.isVisible('#empty-table'), true)
  })

  it('keeps at most 500 rows', { skip }, async () => {
    for (let i = 0; i < 505; i++) await publish(hub.url, { eventType: 'BULK', i })
    await waitForReceived(page, 514)

    const rows = await readRows(page)
    assert.equal(rows.length, 500)
    assert.equal(rows[0]!.properties, '{"i":504}')
    assert.equal(rows.at(-1)!.properties, '{"i":5}')
    assert.equal(await readText(page, '#shown-count'), '500')
    assertUniqueIds(rows)
  })

  it('shows a notice on reset', { skip }, async () => {
    const subscriptionId = await readText(page, '#subscription-id')
    // A hub on an empty store has neither the subscription nor its position, so it resets.
    storeUrl = `sqlite:${join(temp.dir, 'replaced.db')}`
    await restartHub()
    await page.waitForSelector('#reset-notice:not([hidden])')

    assert.match(await readText(page, '#reset-text'), /the hub reset this subscription/)
    assert.equal(await page.getAttribute('#reset-notice', 'role'), 'alert')
    await waitForState(page, 'open')
    const newId = await readText(page, '#subscription-id')
    assert.match(newId, UUID)
    assert.notEqual(newId, subscriptionId)

    await page.getByRole('button', { name: 'Dismiss' }).click()
    assert.equal(await page.isHidden('#reset-notice'), true)
  })

  it('plain EventSource resumes by Last-Event-ID', { skip }, async () => {
    await page.evaluate(() => {
      const messages: { id: string; data: string }[] = []
      const source = new EventSource('/api/v1/sse')
      source.onmessage = (event) => messages.push({ id: event.lastEventId, data: event.data })
      Object.assign(globalThis, { plainSource: { source, messages } })
    })
    const readMessages = () =>
      page.evaluate(
        () =>
          (
            globalThis as unknown as {
              plainSource: { messages: { id: string; data: string }[] }
            }
          ).plainSource.messages,
      )
    const waitForMessages = (count: number) =>
      page.waitForFunction(
        (expected) =>
          (globalThis as unknown as { plainSource: { messages: unknown[] } }).plainSource.messages
            .length >= expected,
        count,
      )
    await waitForMessages(1)
    const established = JSON.parse((await readMessages())[0]!.data)
    const subscriptionId: string = established.subscriptionId
    const before = [
      await publish(hub.url, { eventType: 'BEFORE_RESTART', i: 0 }),
      await publish(hub.url, { eventType: 'BEFORE_RESTART', i: 1 }),
    ]
    await waitForMessages(3)

    await restartHub()
    // One event waits in the log for the reconnection; the other is published once it is live.
    const afterRestart = [await publish(hub.url, { eventType: 'AFTER_RESTART', i: 0 })]
    await waitForMessages(5)
    afterRestart.push(await publish(hub.url, { eventType: 'AFTER_RESTART', i: 1 }))
    await waitForMessages(6)
    await page.waitForTimeout(300)
    const messages = await readMessages()
    await page.evaluate(() =>
      (
        globalThis as unknown as { plainSource: { source: EventSource } }
      ).plainSource.source.close(),
    )

    assert.deepEqual(
      messages.map((message) => JSON.parse(message.data).eventType),
      [
        'ESTABLISHED_CONNECTION',
        'BEFORE_RESTART',
        'BEFORE_RESTART',
        'ESTABLISHED_CONNECTION',
        'AFTER_RESTART',
        'AFTER_RESTART',
      ],
    )
    const eventIds = [1, 2, 4, 5].map((index) => messages[index]!.id)
    assert.deepEqual(
      eventIds,
      [...before, ...afterRestart].map((position) => `${subscriptionId}.${position}`),
    )
    const reopened = JSON.parse(messages[3]!.data)
    assert.equal(reopened.eventType, 'ESTABLISHED_CONNECTION')
    assert.equal(reopened.subscriptionId, subscriptionId)
    assert.equal(reopened.resumed, true)
    assert.equal(reopened.reset, false)
    assert.deepEqual(
      messages.slice(4).map((message) => JSON.parse(message.data)),
      [
        { eventType: 'AFTER_RESTART', i: 0 },
        { eventType: 'AFTER_RESTART', i: 1 },
      ],
    )
    const connected = hub.logs.filter(
      (line) => line['msg'] === 'subscriber connected' && line['subscriptionId'] === subscriptionId,
    )
    assert.equal(connected.length, 1)
    assert.equal(connected[0]!['resumed'], true)
    assert.equal(connected[0]!['fromPosition'], before[1], 'resumed from its Last-Event-ID')
  })

  it('raises no script or CSP errors', { skip }, () => {
    assert.deepEqual(pageErrors, [])
  })
})
