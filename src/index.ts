/**
 * Tidings: a server-sent events hub. Define events by extending `BaseSseEvent`, publish them with
 * `SseSubscriptionService.notifySubscribers`, and mount the HTTP handlers on any Node server.
 * @module
 */
export {
  BaseSseEvent,
  EstablishedConnectionEvent,
  assertValidEventType,
} from './events/base-sse-event.js'
export type { SseEventObject } from './events/base-sse-event.js'
export { SseSubscriptionService } from './hub/sse-subscription-service.js'
export type { PublishedEvent, SubscribeRequest } from './hub/sse-subscription-service.js'
export type { SseSubscriptionServiceOptions } from './hub/service-options.js'
export type {
  ConnectedInfo,
  DisconnectedInfo,
  HubFailure,
  MaintenanceInfo,
  SseSubscriptionServiceEvents,
} from './hub/service-events.js'
export type { DisconnectReason } from './hub/subscriber-connection.js'
export type { ResetReason } from './hub/resume-plan.js'
export { MemoryStore } from './store/memory-store.js'
export type { MemoryStoreOptions } from './store/memory-store.js'
export { openStore } from './store/open-store.js'
export type {
  AppendNotice,
  ConnectionState,
  EventStore,
  LogBounds,
  NewEvent,
  RetentionPolicy,
  StoredEvent,
  SubscriptionRecord,
  SubscriptionUpdate,
} from './store/event-store.js'
export { createHubRouter } from './http/router.js'
export type { HubRouter, HubRouterOptions } from './http/router.js'
export { handlePublish, handleSubscribe } from './http/sse-handlers.js'
export type { PublishHandlerOptions } from './http/sse-handlers.js'
export { CaseAssignedEvent, CaseCreatedEvent, CaseUnassignedEvent } from './cases/case-events.js'
export type { CaseEventMap } from './cases/case-events.js'
export { CaseService } from './cases/case-service.js'
export { MemoryCaseRepository } from './cases/case-repository.js'
export type { CaseRecord, CaseRepository } from './cases/case-repository.js'
export { formatEventId, parseEventId } from './wire/event-id.js'
export type { EventCursor } from './wire/event-id.js'
export { DEFAULTS, SSE_RESPONSE_HEADERS } from './constants.js'
export {
  CaseNotFoundError,
  HubClosedError,
  InvalidEventError,
  InvalidJsonError,
  InvalidLastEventIdError,
  InvalidOptionError,
  InvalidRequestError,
  InvalidSubscriptionIdError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  RouteNotFoundError,
  StoreUnavailableError,
  TidingsError,
  UnsupportedMediaTypeError,
} from './errors.js'
