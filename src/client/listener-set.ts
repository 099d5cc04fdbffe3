/**
 * A set of callbacks with unsubscribe functions, for the client's handlers.
 * @module
 */

/** Removes the handler it was returned for. Calling it again does nothing. */
export type Unsubscribe = () => void

/**
 * Callbacks of one kind. A callback that throws does not stop the others or the client: its
 * error is thrown again from a microtask, where the runtime reports it as uncaught (the same
 * place an `EventTarget` listener's error goes).
 */
export class ListenerSet<Args extends unknown[]> {
  readonly #listeners = new Set<(...args: Args) => void>()

  get size(): number {
    return this.#listeners.size
  }

  /** Adds a callback. Each call is a registration of its own, even for the same function. */
  add(listener: (...args: Args) => void): Unsubscribe {
    const registration = (...args: Args): void => listener(...args)
    this.#listeners.add(registration)
    return () => {
      this.#listeners.delete(registration)
    }
  }

  /**
   * Calls the callbacks in registration order. One added during the call waits for the next
   * call, and one removed during the call is skipped.
   */
  emit(...args: Args): void {
    for (const listener of [...this.#listeners]) {
      if (!this.#listeners.has(listener)) continue
      try {
        listener(...args)
      } catch (error) {
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }
}
