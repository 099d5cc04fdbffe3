/**
 * The store contract: one ordered event log and the subscription records that point into it.
 *
 * Every backend implements `EventStore`, and one contract test suite runs against each. The hub
 * relies on these guarantees:
 *
 * - Positions are integers that grow by one per appended event, starting at 1, and form one total
 *   order, the same for every reader of the store. Position 0 is "before the first event".
 * - `readAfter` returns retained events in position order with no gaps.
 * - `trimmedThrough` only grows. A reader at a position below it has missed events for good.
 * - Listeners given to `watch` hear of every append, from this process or, for shared stores,
 *   from any hub instance. A notice may carry the event itself; otherwise the hub reads it.
 * @module
 */

/** An event as the log keeps it. */
export interface StoredEvent {
  /** Position in the log, 1 for the first event ever appended. */
  readonly position: number
  readonly eventType: string
  /** The event serialized as JSON, `eventType` included. */
  readonly json: string
  /** Time of the append, in milliseconds since the epoch. */
  readonly createdAt: number
}

/** An event to append. */
export interface NewEvent {
  readonly eventType: string
  readonly json: string
}

/**
 * End state of a subscription's last connection: still `open`, `closed` cleanly (everything
 * written was flushed), or `failed` (a socket error, or a hub that died), in which case the last
 * events written may never have arrived.
 */
export type ConnectionState = 'open' | 'closed' | 'failed'

/** A subscription: a position in the log that outlives its connections. */
export interface SubscriptionRecord {
  readonly id: string
  /** Position of the last event the hub wrote to the subscription's connection. */
  readonly position: number
  /**
   * Position the subscription started at, or was reset to. A replay never goes below it: the
   * events before it were published before the subscriber was there.
   */
  readonly startPosition: number
  readonly connectionState: ConnectionState
  /** Creation time, in milliseconds since the epoch. */
  readonly createdAt: number
  /** Last time a connection of this subscription was seen open, in milliseconds since the epoch. */
  readonly lastSeenAt: number
}

/** A change to a stored subscription. Fields left out keep their value. */
export interface SubscriptionUpdate {
  readonly id: string
  readonly position?: number
  readonly startPosition?: number
  readonly connectionState?: ConnectionState
  readonly lastSeenAt: number
}

/** The range of positions a reader can resume from. */
export interface LogBounds {
  /** Newest position removed by retention, 0 when nothing was removed. */
  readonly trimmedThrough: number
  /** Newest position appended, 0 when the log is empty. */
  readonly head: number
}

/** Limits that retention applies to the log. */
export interface RetentionPolicy {
  /** Events appended before this time, in milliseconds since the epoch, are removed. */
  readonly appendedBefore: number
  /** At most this many of the newest events are kept. */
  readonly maxEvents: number
}

/** A notice that the log grew. */
export interface AppendNotice {
  /** Newest position now in the log. */
  readonly head: number
  /** The appended event, when the store has it at hand (in-process appends). */
  readonly event?: StoredEvent
}

/**
 * Logger through which a store reports connection trouble and recovery: a subset of pino's logger, so the hub's
 * logger fits. Stores never log event payloads or credentials.
 */
export interface StoreLogger {
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
  error(fields: object, message: string): void
}

/** The log and subscription records of a hub. */
export interface EventStore {
  /** Short name of the backend for logs, such as `sqlite`. */
  readonly kind: string

  /**
   * True when other hub processes may append to the same log, so appends can arrive that this
   * process did not make. The hub then also checks the log's head at intervals, in case a notice
   * was lost while the store was unreachable.
   */
  readonly shared: boolean

  /** Appends an event and resolves once it is stored, with its position. */
  append(event: NewEvent): Promise<StoredEvent>

  /** Reads up to `limit` retained events with a position above `position`, oldest first. */
  readAfter(position: number, limit: number): Promise<StoredEvent[]>

  /** Returns the positions a reader can resume from. */
  bounds(): Promise<LogBounds>

  /** Removes events outside the policy and returns how many were removed. */
  trim(policy: RetentionPolicy): Promise<number>

  /** Registers a listener for appends and returns the function that removes it. */
  watch(listener: (notice: AppendNotice) => void): () => void

  /** Stores a new subscription. */
  createSubscription(record: SubscriptionRecord): Promise<void>

  /** Returns a subscription, or `undefined` when none has this id. */
  getSubscription(id: string): Promise<SubscriptionRecord | undefined>

  /** Applies several updates at once; updates of unknown ids are ignored. */
  updateSubscriptions(updates: readonly SubscriptionUpdate[]): Promise<void>

  /** Removes subscriptions last seen before `lastSeenBefore` and returns how many were removed. */
  expireSubscriptions(lastSeenBefore: number): Promise<number>

  /** Releases connections and files. The store is unusable afterwards. */
  close(): Promise<void>
}
