/**
 * Tidings client for browsers and Node.js 20: subscribes to a hub, reconnects with backoff,
 * resumes without loss or repeats, and passes typed events to handlers. It has no dependencies.
 *
 * @example
 * import { createTidingsClient, type CaseEventMap } from 'tidings/client'
 *
 * const client = createTidingsClient<CaseEventMap>({ url: 'https://hub.example.com' })
 * client.on('CASE_CREATED', (event) => console.log('new case', event.caseId))
 * client.onReset(() => reloadEverything())
 * @module
 */
export { createTidingsClient } from './tidings-client.js'
export type {
  AnyEventMap,
  ConnectionState,
  EventHandler,
  EventInfo,
  EventMapOf,
  ReconnectSchedule,
  StateChange,
  TidingsClient,
  TidingsEvent,
} from './client-types.js'
export { CLIENT_DEFAULTS } from './client-options.js'
export type { TidingsClientOptions, TransportKind } from './client-options.js'
export type { JitterStrategy } from './backoff.js'
export { InvalidClientOptionError, TidingsClientError } from './client-errors.js'
export type { ClientErrorKind } from './client-errors.js'
export { ESTABLISHED_CONNECTION } from './hub-events.js'
export type { EstablishedConnection } from './hub-events.js'
export type {
  CaseAssignedEvent,
  CaseCreatedEvent,
  CaseEventMap,
  CaseUnassignedEvent,
} from './case-events.js'
export type { Unsubscribe } from './listener-set.js'
export type {
  EventSourceConstructor,
  EventSourceLike,
  EventSourceMessageEvent,
} from './eventsource-transport.js'
export type { FetchFunction } from './fetch-transport.js'
