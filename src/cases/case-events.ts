/**
 * The case events Valtimo provides. They carry ids only; clients fetch details through the API.
 * @module
 */
import { BaseSseEvent } from '../events/base-sse-event.js'

/** Fired after a case is created. */
export class CaseCreatedEvent extends BaseSseEvent {
  readonly caseId: string

  constructor(caseId: string) {
    super('CASE_CREATED')
    this.caseId = caseId
  }
}

/** Fired after a case's assignee is set or changed. */
export class CaseAssignedEvent extends BaseSseEvent {
  readonly caseId: string
  readonly assigneeId: string

  constructor(caseId: string, assigneeId: string) {
    super('CASE_ASSIGNED')
    this.caseId = caseId
    this.assigneeId = assigneeId
  }
}

/** Fired after a case's assignee is removed. */
export class CaseUnassignedEvent extends BaseSseEvent {
  readonly caseId: string

  constructor(caseId: string) {
    super('CASE_UNASSIGNED')
    this.caseId = caseId
  }
}

/** Event type to event shape, for typed handlers. */
export interface CaseEventMap {
  CASE_CREATED: CaseCreatedEvent
  CASE_ASSIGNED: CaseAssignedEvent
  CASE_UNASSIGNED: CaseUnassignedEvent
}
