import type { AppendNotice } from './event-store.js'

/**
 * The listeners of `EventStore.watch`. A listener that throws does not keep the others from
 * hearing of the append: its error is rethrown from a microtask, so it surfaces as an uncaught
 * exception instead of being lost.
 * @internal
 */
export class AppendListeners {
  readonly #listeners = new Set<(notice: AppendNotice) => void>()

  add(listener: (notice: AppendNotice) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  notify(notice: AppendNotice): void {
    for (const listener of this.#listeners) {
      try {
        listener(notice)
      } catch (err) {
        queueMicrotask(() => {
          throw err
        })
      }
    }
  }

  clear(): void {
    this.#listeners.clear()
  }
}
