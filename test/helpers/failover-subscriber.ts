/**
 * A subscriber that follows one subscription across several hubs: when its stream ends or fails,
 * it resumes on the next live hub with `Last-Event-ID`, as a client behind a load balancer does.
 */
import { openSse, type ReceivedEvent } from './sse-test-client.js'

/** Positions and payloads a failover subscriber received, in order. */
export class FailoverSubscriber {
  readonly received: { position: number; json: any }[] = []
  subscriptionId: string | undefined
  resumes = 0
  resets = 0
  #lastId: string | undefined
  #hubIndex: number
  #stopped = false
  #close: (() => void) | undefined
  readonly #liveHubs: () => string[]
  readonly #done: Promise<void>

  constructor(liveHubs: () => string[], firstHub: number) {
    this.#liveHubs = liveHubs
    this.#hubIndex = firstHub
    this.established = new Promise((resolve) => {
      this.#onEstablished = resolve
    })
    this.#done = this.#run()
  }

  /** Resolves once the first stream is open and established. */
  readonly established: Promise<void>
  #onEstablished: () => void = () => {}

  get lastPosition(): number {
    return this.received.at(-1)?.position ?? 0
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const hubs = this.#liveHubs()
      const hub = hubs[this.#hubIndex % hubs.length]!
      this.#hubIndex++
      const path = this.subscriptionId ? `/api/v1/sse/${this.subscriptionId}` : '/api/v1/sse'
      const headers: Record<string, string> = this.#lastId ? { 'last-event-id': this.#lastId } : {}
      try {
        const client = await openSse(hub + path, {
          headers,
          byteByByte: false,
          onEvent: (event) => this.#receive(event),
        })
        this.#close = () => client.close()
        if (client.status !== 200) throw new Error(`status ${client.status}`)
        await client.ended
      } catch {
        // The hub is down or refused the request: try the next one.
      }
      if (!this.#stopped) await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  #receive(event: ReceivedEvent): void {
    if (event.json?.eventType === 'ESTABLISHED_CONNECTION') {
      if (this.subscriptionId) this.resumes++
      if (event.json.reset) this.resets++
      this.subscriptionId = event.json.subscriptionId
      this.#lastId = event.id
      this.#onEstablished()
      return
    }
    this.#lastId = event.id
    this.received.push({ position: Number(event.id?.split('.')[1]), json: event.json })
  }

  /** Stops following and closes the open stream. */
  async stop(): Promise<void> {
    this.#stopped = true
    this.#close?.()
    await this.#done
  }
}
