/**
 * Shapes of the case events the hub publishes, for typed handlers. They mirror the hub's event
 * classes as plain JSON types, so the client needs no server code at run time.
 * @module
 */

/** Sent after a case is created. */
export interface CaseCreatedEvent {
  readonly eventType: 'CASE_CREATED'
  readonly caseId: string
}

/** Sent after a case's assignee is set or changed. */
export interface CaseAssignedEvent {
  readonly eventType: 'CASE_ASSIGNED'
  readonly caseId: string
  readonly assigneeId: string
}

/** Sent after a case's assignee is removed. */
export interface CaseUnassignedEvent {
  readonly eventType: 'CASE_UNASSIGNED'
  readonly caseId: string
}

/**
 * Event type to event shape of the case events.
 *
 * @example
 * const client = createTidingsClient<CaseEventMap>({ url: 'https://hub.example.com' })
 * client.on('CASE_ASSIGNED', (event) => showAssignee(event.caseId, event.assigneeId))
 */
export interface CaseEventMap {
  CASE_CREATED: CaseCreatedEvent
  CASE_ASSIGNED: CaseAssignedEvent
  CASE_UNASSIGNED: CaseUnassignedEvent
}
