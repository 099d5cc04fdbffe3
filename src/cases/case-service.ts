/**
 * The case module: create, read, assign and unassign cases. Each change is stored first and its
 * event published after, so a subscriber that receives an event can read the change.
 * @module
 */
import { randomUUID } from 'node:crypto'
import { CaseNotFoundError, InvalidRequestError, quoteForMessage } from '../errors.js'
import type { SseSubscriptionService } from '../hub/sse-subscription-service.js'
import { CaseAssignedEvent, CaseCreatedEvent, CaseUnassignedEvent } from './case-events.js'
import type { CaseRecord, CaseRepository } from './case-repository.js'

const MAX_TEXT_LENGTH = 200
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/

/** Checks an optional short text field of a request. */
function readText(body: Record<string, unknown>, field: string, required: boolean): string | null {
  const value = body[field]
  if (value === undefined || value === null) {
    if (required) throw new InvalidRequestError(`Missing "${field}"; expected a string`)
    return null
  }
  // The length counts characters (code points), not UTF-16 units, so an emoji counts as one.
  if (typeof value !== 'string' || value.trim() === '' || [...value].length > MAX_TEXT_LENGTH) {
    throw new InvalidRequestError(
      `Invalid "${field}" ${quoteForMessage(value)}; expected a non-empty string of at most ${MAX_TEXT_LENGTH} characters`,
    )
  }
  if (CONTROL_CHARACTERS.test(value)) {
    throw new InvalidRequestError(
      `Invalid "${field}" ${quoteForMessage(value)}; control characters are not allowed`,
    )
  }
  // A lone surrogate cannot be stored as UTF-8, so the stored text would differ from the event.
  if (!value.isWellFormed()) {
    throw new InvalidRequestError(`Invalid "${field}"; it contains an unpaired surrogate`)
  }
  return value
}

/** Checks that a request body is a JSON object. */
function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequestError('Invalid request body; expected a JSON object')
  }
  return body as Record<string, unknown>
}

/** Cases and the events that report their changes. */
export class CaseService {
  readonly #repository: CaseRepository
  readonly #events: SseSubscriptionService
  readonly #now: () => Date

  constructor(repository: CaseRepository, events: SseSubscriptionService, now = () => new Date()) {
    this.#repository = repository
    this.#events = events
    this.#now = now
  }

  /** Creates a case from a request body `{ "title"?: string }`, then fires `CASE_CREATED`. */
  async create(body: unknown = {}): Promise<CaseRecord> {
    const title = readText(asObject(body), 'title', false)
    const record: CaseRecord = {
      id: randomUUID(),
      title,
      assigneeId: null,
      createdAt: this.#now().toISOString(),
    }
    await this.#repository.insert(record)
    // NOTE: the case is stored before the event is appended. If the append fails, the request
    // fails with 503 although the case exists, and no CASE_CREATED is ever sent for it.
    await this.#events.notifySubscribers(new CaseCreatedEvent(record.id))
    return record
  }

  /** @throws {CaseNotFoundError} when no case has the id. */
  async get(id: string): Promise<CaseRecord> {
    const record = await this.#repository.get(id)
    if (!record) throw new CaseNotFoundError(`Case ${quoteForMessage(id)} not found`)
    return record
  }

  list(): Promise<CaseRecord[]> {
    return this.#repository.list()
  }

  /**
   * Sets the assignee from a request body `{ "assigneeId": string }`, then fires `CASE_ASSIGNED`.
   * Assigning the current assignee again changes nothing and fires nothing.
   */
  async assign(id: string, body: unknown): Promise<CaseRecord> {
    const assigneeId = readText(asObject(body), 'assigneeId', true) as string
    const current = await this.get(id)
    if (current.assigneeId === assigneeId) return current
    const updated = await this.#setAssignee(id, assigneeId)
    await this.#events.notifySubscribers(new CaseAssignedEvent(id, assigneeId))
    return updated
  }

  /** Removes the assignee, then fires `CASE_UNASSIGNED`; a case without one is left as it is. */
  async unassign(id: string): Promise<CaseRecord> {
    const current = await this.get(id)
    if (current.assigneeId === null) return current
    const updated = await this.#setAssignee(id, null)
    await this.#events.notifySubscribers(new CaseUnassignedEvent(id))
    return updated
  }

  async #setAssignee(id: string, assigneeId: string | null): Promise<CaseRecord> {
    const updated = await this.#repository.setAssignee(id, assigneeId)
    if (!updated) throw new CaseNotFoundError(`Case ${quoteForMessage(id)} not found`)
    return updated
  }
}
