/// <reference lib="dom" />
/**
 * The console's table of received events: keeps the newest events up to a limit, shows those of
 * the chosen type, newest first, and can pause, so that events are counted and kept but not shown
 * until it resumes.
 * @module
 */

/** One received event as the table keeps it. */
export interface EventEntry {
  readonly eventType: string
  /** SSE id, `<subscriptionId>.<position>`. */
  readonly id: string
  readonly receivedAt: Date
  /** The event's properties other than `eventType`, as compact JSON. */
  readonly properties: string
  /** The `caseId` property when it is a string, so that the row can select its case. */
  readonly caseId: string | undefined
}

/** Counts shown above the table. */
export interface EventCounts {
  /** Events received since the page loaded; Clear does not reset it. */
  readonly received: number
  /** Rows in the table. */
  readonly shown: number
  /** Events received since Pause, `undefined` while not paused. */
  readonly waiting: number | undefined
}

/** Elements and callbacks of `EventTable`. */
export interface EventTableOptions {
  readonly body: HTMLTableSectionElement
  /** Maximum number of events kept, and so of rows. */
  readonly maxRows: number
  /** Called after every change of the counts. */
  readonly onCountsChange: (counts: EventCounts) => void
  /** Called when the Select button of a case row is pressed. */
  readonly onSelectCase: (caseId: string) => void
}

/** Formats a time as local `HH:MM:SS.mmm`. */
export function formatTime(time: Date): string {
  const pad = (value: number, width = 2): string => String(value).padStart(width, '0')
  return `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}.${pad(time.getMilliseconds(), 3)}`
}

/**
 * Table of the newest events, rendered into a `<tbody>`. New rows are added once per animation
 * frame, so a burst of events costs one layout, and a hidden tab renders nothing until shown.
 */
export class EventTable {
  readonly #options: EventTableOptions
  /** Kept events, oldest first, at most `maxRows`. */
  #entries: EventEntry[] = []
  readonly #rows = new WeakMap<EventEntry, HTMLTableRowElement>()
  #filter = ''
  #received = 0
  /** Events received since Pause, `undefined` while not paused. */
  #waiting: number | undefined
  /** Newest kept events that are not rendered yet, waiting for the next frame. */
  #unrendered = 0
  #frameRequested = false

  constructor(options: EventTableOptions) {
    this.#options = options
  }

  get paused(): boolean {
    return this.#waiting !== undefined
  }

  /** Adds a received event: counts it, keeps it and, unless paused or filtered out, shows it. */
  add(entry: EventEntry): void {
    this.#received++
    this.#entries.push(entry)
    const dropped = this.#entries.length > this.#options.maxRows ? this.#entries.shift() : undefined
    // While paused the rows stay as they are, so a row being read does not vanish. Resume renders
    // the kept events again.
    if (dropped !== undefined && !this.paused) this.#rows.get(dropped)?.remove()
    if (this.#waiting !== undefined) this.#waiting++
    else this.#unrendered++
    this.#requestFrame()
  }

  /** Shows only events of `eventType`, or every event for `''`. While paused, only older ones. */
  setFilter(eventType: string): void {
    this.#filter = eventType
    this.#render()
  }

  /** Stops adding rows; events are still counted and kept. */
  pause(): void {
    this.#flushRows()
    this.#waiting ??= 0
    this.#reportCounts()
  }

  /** Shows every kept event again, including those received while paused. */
  resume(): void {
    this.#waiting = undefined
    this.#render()
  }

  /** Forgets every kept event; the received count stays. */
  clear(): void {
    this.#entries = []
    this.#unrendered = 0
    if (this.#waiting !== undefined) this.#waiting = 0
    this.#options.body.replaceChildren()
    this.#reportCounts()
  }

  #matches(entry: EventEntry): boolean {
    return this.#filter === '' || entry.eventType === this.#filter
  }

  /**
   * Builds the rows of the kept events from index `from` up to, not including, `to`, newest
   * first, leaving out those the filter hides.
   */
  #createRows(from: number, to: number): DocumentFragment {
    const rows = document.createDocumentFragment()
    for (let i = to - 1; i >= Math.max(from, 0); i--) {
      const entry = this.#entries[i]!
      if (this.#matches(entry)) rows.append(this.#createRow(entry))
    }
    return rows
  }

  /** Replaces every row with the kept events that match the filter, except those of a pause. */
  #render(): void {
    const shownEnd = this.#entries.length - Math.min(this.#waiting ?? 0, this.#entries.length)
    this.#options.body.replaceChildren(this.#createRows(0, shownEnd))
    this.#unrendered = 0
    this.#reportCounts()
  }

  #requestFrame(): void {
    if (this.#frameRequested) return
    this.#frameRequested = true
    requestAnimationFrame(() => {
      this.#frameRequested = false
      this.#flushRows()
      this.#reportCounts()
    })
  }

  /** Adds the rows of events received since the last frame above the others. */
  #flushRows(): void {
    if (this.#unrendered === 0) return
    const end = this.#entries.length - (this.#waiting ?? 0)
    this.#options.body.prepend(this.#createRows(end - this.#unrendered, end))
    this.#unrendered = 0
  }

  #createRow(entry: EventEntry): HTMLTableRowElement {
    const existing = this.#rows.get(entry)
    if (existing !== undefined) return existing

    const row = document.createElement('tr')
    const received = document.createElement('time')
    received.dateTime = entry.receivedAt.toISOString()
    received.textContent = formatTime(entry.receivedAt)
    row.append(
      this.#createCell('received', received),
      this.#createCell('type', entry.eventType),
      this.#createCell('id', entry.id),
      this.#createCell('properties', entry.properties),
      this.#createCell('case', this.#createSelectButton(entry.caseId)),
    )
    this.#rows.set(entry, row)
    return row
  }

  #createCell(className: string, content: string | Node | undefined): HTMLTableCellElement {
    const cell = document.createElement('td')
    cell.className = className
    if (content !== undefined) cell.append(content)
    return cell
  }

  #createSelectButton(caseId: string | undefined): HTMLButtonElement | undefined {
    if (caseId === undefined) return undefined
    const button = document.createElement('button')
    button.type = 'button'
    button.textContent = 'Select'
    button.setAttribute('aria-label', `Select case ${caseId}`)
    button.addEventListener('click', () => this.#options.onSelectCase(caseId))
    return button
  }

  #reportCounts(): void {
    this.#options.onCountsChange({
      received: this.#received,
      shown: this.#options.body.rows.length,
      waiting: this.#waiting,
    })
  }
}

/** Builds the table entry of an event received now. */
export function toEventEntry(event: Readonly<Record<string, unknown>>, id: string): EventEntry {
  const { eventType, ...properties } = event
  const caseId = properties['caseId']
  return {
    eventType: String(eventType),
    id,
    receivedAt: new Date(),
    properties: JSON.stringify(properties),
    caseId: typeof caseId === 'string' ? caseId : undefined,
  }
}
