import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { MemoryCaseRepository } from '../src/cases/case-repository.js'
import { CaseService } from '../src/cases/case-service.js'
import { SseSubscriptionService } from '../src/hub/sse-subscription-service.js'
import { MemoryStore } from '../src/store/memory-store.js'
import { subscribe } from './helpers/sse-test-client.js'
import { makeTempDir, postJson, startTestHub, type TestHub } from './helpers/test-hub.js'

async function sendJson(
  url: string,
  method: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: response.status, body: await response.json() }
}

describe('cases', () => {
  let hub: TestHub

  before(async () => {
    hub = await startTestHub()
  })
  after(() => hub.close())

  it('creates, reads, assigns and unassigns with one event per change', async () => {
    const stream = await subscribe(`${hub.url}/api/v1/sse`)
    const created = await postJson(`${hub.url}/api/v1/cases`, { title: 'Building permit' })
    assert.equal(created.status, 201)
    assert.equal(created.headers.get('location'), `/api/v1/cases/${created.body.id}`)
    assert.equal(created.body.title, 'Building permit')
    assert.equal(created.body.assigneeId, null)
    const caseUrl = `${hub.url}/api/v1/cases/${created.body.id}`

    const read = await sendJson(caseUrl, 'GET')
    assert.deepEqual(read.body, created.body)

    const assigned = await sendJson(`${caseUrl}/assignee`, 'PUT', { assigneeId: 'user-7' })
    assert.equal(assigned.status, 200)
    assert.equal(assigned.body.assigneeId, 'user-7')
    const again = await sendJson(`${caseUrl}/assignee`, 'PUT', { assigneeId: 'user-7' })
    assert.equal(again.status, 200)
    const unassigned = await sendJson(`${caseUrl}/assignee`, 'DELETE')
    assert.equal(unassigned.body.assigneeId, null)
    const unassignedAgain = await sendJson(`${caseUrl}/assignee`, 'DELETE')
    assert.equal(unassignedAgain.status, 200)

    const events = await stream.client.waitForEvents(4)
    assert.deepEqual(
      events.slice(1).map((event) => event.json),
      [
        { eventType: 'CASE_CREATED', caseId: created.body.id },
        { eventType: 'CASE_ASSIGNED', caseId: created.body.id, assigneeId: 'user-7' },
        { eventType: 'CASE_UNASSIGNED', caseId: created.body.id },
      ],
    )
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(stream.client.events.length, 4)
    stream.client.close()
  })

  it('stores each change before its event is appended', async () => {
    const store = new MemoryStore()
    const repository = new MemoryCaseRepository()
    const service = new SseSubscriptionService({ store })
    const cases = new CaseService(repository, service)
    const seenAtAppend: unknown[] = []
    store.watch((notice) => {
      const event = JSON.parse(notice.event!.json) as { eventType: string; caseId: string }
      // Runs inside the append, so it reads exactly what was stored before the event.
      void repository.get(event.caseId).then((record) => {
        seenAtAppend.push({ eventType: event.eventType, stored: record?.assigneeId ?? 'none' })
      })
    })
    const created = await cases.create({})
    await cases.assign(created.id, { assigneeId: 'u1' })
    await cases.unassign(created.id)
    await service.close()
    assert.deepEqual(seenAtAppend, [
      { eventType: 'CASE_CREATED', stored: 'none' },
      { eventType: 'CASE_ASSIGNED', stored: 'u1' },
      { eventType: 'CASE_UNASSIGNED', stored: 'none' },
    ])
  })

  it('lists cases newest first', async () => {
    const a = await postJson(`${hub.url}/api/v1/cases`, { title: 'A' })
    const b = await postJson(`${hub.url}/api/v1/cases`, { title: 'B' })
    const list = await sendJson(`${hub.url}/api/v1/cases`, 'GET')
    const ids = list.body.map((record: { id: string }) => record.id)
    assert.ok(ids.indexOf(b.body.id) < ids.indexOf(a.body.id))
  })

  it('creates a case from a request without a body', async () => {
    const response = await fetch(`${hub.url}/api/v1/cases`, { method: 'POST' })
    assert.equal(response.status, 201)
    const body = (await response.json()) as { title: unknown }
    assert.equal(body.title, null)
  })
})

describe('cases on SQLite', () => {
  it('keeps cases across a restart', async () => {
    const temp = makeTempDir()
    const storeUrl = `sqlite:${join(temp.dir, 'cases.db')}`
    try {
      const first = await startTestHub({ storeUrl })
      const created = await postJson(`${first.url}/api/v1/cases`, { title: 'Kept' })
      await sendJson(`${first.url}/api/v1/cases/${created.body.id}/assignee`, 'PUT', {
        assigneeId: 'u2',
      })
      await first.close()
      const second = await startTestHub({ storeUrl })
      const read = await sendJson(`${second.url}/api/v1/cases/${created.body.id}`, 'GET')
      assert.equal(read.body.title, 'Kept')
      assert.equal(read.body.assigneeId, 'u2')
      await second.close()
    } finally {
      temp.remove()
    }
  })
})
