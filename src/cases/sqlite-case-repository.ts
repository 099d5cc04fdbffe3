import type Database from 'better-sqlite3'
import type { CaseRecord, CaseRepository } from './case-repository.js'

interface CaseRow {
  id: string
  title: string | null
  assignee_id: string | null
  created_at: string
}

function toCase(row: CaseRow): CaseRecord {
  return { id: row.id, title: row.title, assigneeId: row.assignee_id, createdAt: row.created_at }
}

/** Keeps cases in a table of the hub's SQLite file, so they survive restarts with the log. */
export class SqliteCaseRepository implements CaseRepository {
  readonly #statements

  constructor(db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS cases (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        title TEXT,
        assignee_id TEXT,
        created_at TEXT NOT NULL
      )
    `)
    this.#statements = {
      insert: db.prepare<[string, string | null, string | null, string], void>(
        'INSERT INTO cases (id, title, assignee_id, created_at) VALUES (?, ?, ?, ?)',
      ),
      get: db.prepare<[string], CaseRow>(
        'SELECT id, title, assignee_id, created_at FROM cases WHERE id = ?',
      ),
      list: db.prepare<[], CaseRow>(
        'SELECT id, title, assignee_id, created_at FROM cases ORDER BY seq DESC',
      ),
      setAssignee: db.prepare<[string | null, string], CaseRow>(
        'UPDATE cases SET assignee_id = ? WHERE id = ? RETURNING id, title, assignee_id, created_at',
      ),
    }
  }

  async insert(record: CaseRecord): Promise<void> {
    this.#statements.insert.run(record.id, record.title, record.assigneeId, record.createdAt)
  }

  async get(id: string): Promise<CaseRecord | undefined> {
    const row = this.#statements.get.get(id)
    return row && toCase(row)
  }

  async list(): Promise<CaseRecord[]> {
    return this.#statements.list.all().map(toCase)
  }

  async setAssignee(id: string, assigneeId: string | null): Promise<CaseRecord | undefined> {
    const row = this.#statements.setAssignee.get(assigneeId, id)
    return row && toCase(row)
  }
}
