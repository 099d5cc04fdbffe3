/**
 * Request handlers of the case module.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { CaseService } from '../cases/case-service.js'
import { DEFAULTS } from '../constants.js'
import { CaseNotFoundError, quoteForMessage } from '../errors.js'
import { isUuid } from '../wire/event-id.js'
import { sendJson } from './json-response.js'
import { readJsonBody } from './read-json-body.js'

/** Returns the case id from the path; an id that is not a UUID cannot name a case. */
function caseIdOf(value: string | undefined): string {
  const id = (value ?? '').toLowerCase()
  if (!isUuid(id)) throw new CaseNotFoundError(`Case ${quoteForMessage(value ?? '')} not found`)
  return id
}

/** Reads an optional JSON body: no body at all stands for `{}`. */
async function readOptionalBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const length = req.headers['content-length']
  const chunked = req.headers['transfer-encoding'] !== undefined
  if (!chunked && (length === undefined || length === '0')) return {}
  return readJsonBody(req, maxBytes)
}

/** `POST /api/v1/cases`: responds `201` with the new case. */
export async function handleCaseCreate(
  cases: CaseService,
  req: IncomingMessage,
  res: ServerResponse,
  maxBodyBytes = DEFAULTS.maxBodyBytes,
): Promise<void> {
  const record = await cases.create(await readOptionalBody(req, maxBodyBytes))
  sendJson(res, 201, record, { location: `/api/v1/cases/${record.id}` })
}

/** `GET /api/v1/cases`. */
export async function handleCaseList(cases: CaseService, res: ServerResponse): Promise<void> {
  sendJson(res, 200, await cases.list())
}

/** `GET /api/v1/cases/{caseId}`. */
export async function handleCaseGet(
  cases: CaseService,
  res: ServerResponse,
  caseId: string | undefined,
): Promise<void> {
  sendJson(res, 200, await cases.get(caseIdOf(caseId)))
}

/** `PUT /api/v1/cases/{caseId}/assignee` with `{ "assigneeId": "..." }`. */
export async function handleCaseAssign(
  cases: CaseService,
  req: IncomingMessage,
  res: ServerResponse,
  caseId: string | undefined,
  maxBodyBytes = DEFAULTS.maxBodyBytes,
): Promise<void> {
  const id = caseIdOf(caseId)
  sendJson(res, 200, await cases.assign(id, await readJsonBody(req, maxBodyBytes)))
}

/** `DELETE /api/v1/cases/{caseId}/assignee`. */
export async function handleCaseUnassign(
  cases: CaseService,
  res: ServerResponse,
  caseId: string | undefined,
): Promise<void> {
  sendJson(res, 200, await cases.unassign(caseIdOf(caseId)))
}
