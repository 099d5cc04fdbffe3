/**
 * Case storage: the contract and the in-memory implementation.
 * @module
 */

/** A stored case. */
export interface CaseRecord {
  readonly id: string
  readonly title: string | null
  readonly assigneeId: string | null
  /** ISO 8601 time of creation. */
  readonly createdAt: string
}

/** Storage of cases. */
export interface CaseRepository {
  insert(record: CaseRecord): Promise<void>
  get(id: string): Promise<CaseRecord | undefined>
  /** Returns every case, newest first. */
  list(): Promise<CaseRecord[]>
  /** Sets or clears the assignee and returns the updated case, `undefined` when none has the id. */
  setAssignee(id: string, assigneeId: string | null): Promise<CaseRecord | undefined>
}

/** Keeps cases in a map, for tests and for hubs on the memory store. */
export class MemoryCaseRepository implements CaseRepository {
  readonly #cases = new Map<string, CaseRecord>()

  async insert(record: CaseRecord): Promise<void> {
    this.#cases.set(record.id, record)
  }

  async get(id: string): Promise<CaseRecord | undefined> {
    return this.#cases.get(id)
  }

  async list(): Promise<CaseRecord[]> {
    return [...this.#cases.values()].reverse()
  }

  async setAssignee(id: string, assigneeId: string | null): Promise<CaseRecord | undefined> {
    const record = this.#cases.get(id)
    if (!record) return undefined
    const updated = { ...record, assigneeId }
    this.#cases.set(id, updated)
    return updated
  }
}
