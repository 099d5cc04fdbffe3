/// <reference lib="dom" />
/**
 * Requests of the console to the hub's case module. A failed request throws `CaseRequestError`
 * with the code and message of the hub's JSON error body.
 * @module
 */

/** A case as the hub returns it. */
export interface CaseRecord {
  readonly id: string
  readonly title: string | null
  readonly assigneeId: string | null
  readonly createdAt: string
}

/** A case request that failed, with the hub's error code when its response had one. */
export class CaseRequestError extends Error {
  /** The hub's error code, such as `ERR_CASE_NOT_FOUND`, or `undefined` for a network failure. */
  readonly code: string | undefined
  /** HTTP status, or `undefined` when no response arrived. */
  readonly status: number | undefined

  constructor(message: string, code: string | undefined, status: number | undefined) {
    super(message)
    this.name = 'CaseRequestError'
    this.code = code
    this.status = status
  }
}

/** Reads `{"error":{"code","message"}}`, the body of every error response of the hub. */
function readErrorBody(text: string): { code: string; message: string } | undefined {
  try {
    const body: unknown = JSON.parse(text)
    const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error
    if (typeof error?.code === 'string' && typeof error.message === 'string') {
      return { code: error.code, message: error.message }
    }
  } catch {
    // Not JSON, such as a proxy's HTML error page, so the caller reports the status instead.
  }
  return undefined
}

/** Sends one request and returns the case from the response body. */
async function requestCase(url: string, init: RequestInit): Promise<CaseRecord> {
  let response: Response
  let text: string
  try {
    response = await fetch(url, init)
    text = await response.text()
  } catch (cause) {
    throw new CaseRequestError(
      `${init.method} ${url} failed before a response arrived (${String(cause)}); check that the hub is running`,
      undefined,
      undefined,
    )
  }
  if (!response.ok) {
    const error = readErrorBody(text)
    const message = error?.message ?? `${init.method} ${url} failed with HTTP ${response.status}`
    throw new CaseRequestError(message, error?.code, response.status)
  }
  return JSON.parse(text) as CaseRecord
}

function jsonInit(method: string, body: unknown): RequestInit {
  return { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
}

/**
 * Creates a case with `POST /api/v1/cases`; an empty title creates one without a title.
 * @param hubUrl the hub's base URL without a trailing slash.
 */
export function createCase(hubUrl: string, title: string): Promise<CaseRecord> {
  return requestCase(`${hubUrl}/api/v1/cases`, jsonInit('POST', title === '' ? {} : { title }))
}

/** Sets the assignee of a case with `PUT /api/v1/cases/{caseId}/assignee`. */
export function assignCase(
  hubUrl: string,
  caseId: string,
  assigneeId: string,
): Promise<CaseRecord> {
  return requestCase(
    `${hubUrl}/api/v1/cases/${encodeURIComponent(caseId)}/assignee`,
    jsonInit('PUT', { assigneeId }),
  )
}

/** Removes the assignee of a case with `DELETE /api/v1/cases/{caseId}/assignee`. */
export function unassignCase(hubUrl: string, caseId: string): Promise<CaseRecord> {
  return requestCase(`${hubUrl}/api/v1/cases/${encodeURIComponent(caseId)}/assignee`, {
    method: 'DELETE',
  })
}
