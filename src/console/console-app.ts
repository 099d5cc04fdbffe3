/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="dom.asynciterable" />
/**
 * Script of the live console page: subscribes to the hub with the client library, shows every
 * event in a table, and creates, assigns and unassigns cases through the case API.
 *
 * The hub serves this file as `/console/console-app.js` and the client as `/client/*.js`, so the
 * import of `../client/index.js` resolves in the browser as it does in `dist/`.
 *
 * NOTE: a `lib` reference applies to the whole program, so the DOM types above are also visible
 * to the Node code compiled with this file. `dom.asynciterable` keeps `for await` over a fetch
 * body typed there, as it is with Node's types alone.
 * @module
 */
import {
  createTidingsClient,
  type CaseEventMap,
  type ConnectionState,
  type TidingsClientError,
} from '../client/index.js'
import { CaseRequestError, assignCase, createCase, unassignCase } from './case-requests.js'
import { EventTable, formatTime, toEventEntry, type EventCounts } from './event-table.js'

/** Returns the element with `id`, checking its type, so a changed page fails loudly. */
function elementById<T extends HTMLElement>(id: string, type: new () => T): T {
  const element = document.getElementById(id)
  if (!(element instanceof type)) {
    throw new TypeError(`The console page has no ${type.name} with id "${id}"`)
  }
  return element
}

const page = {
  scriptNotice: elementById('script-notice', HTMLElement),
  state: elementById('connection-state', HTMLElement),
  stateDetail: elementById('connection-detail', HTMLElement),
  subscriptionId: elementById('subscription-id', HTMLElement),
  receivedCount: elementById('received-count', HTMLElement),
  shownCount: elementById('shown-count', HTMLElement),
  resetNotice: elementById('reset-notice', HTMLElement),
  resetText: elementById('reset-text', HTMLElement),
  resetDismiss: elementById('reset-dismiss', HTMLButtonElement),
  createForm: elementById('create-form', HTMLFormElement),
  caseTitle: elementById('case-title', HTMLInputElement),
  assignForm: elementById('assign-form', HTMLFormElement),
  caseId: elementById('case-id', HTMLInputElement),
  assigneeId: elementById('assignee-id', HTMLInputElement),
  actionStatus: elementById('action-status', HTMLElement),
  actionError: elementById('action-error', HTMLElement),
  typeFilter: elementById('type-filter', HTMLSelectElement),
  pauseButton: elementById('pause-button', HTMLButtonElement),
  clearButton: elementById('clear-button', HTMLButtonElement),
  pendingCount: elementById('pending-count', HTMLElement),
  eventRows: elementById('event-rows', HTMLTableSectionElement),
  emptyTable: elementById('empty-table', HTMLElement),
}

/** The hub's base URL: this script is served one folder below it, whatever prefix a proxy adds. */
const hubUrl = new URL('..', import.meta.url).href.replace(/\/$/, '')

/** Id of the newest case this page created or saw created, used when the case field is empty. */
let latestCaseId: string | undefined

function showCounts({ received, shown, waiting }: EventCounts): void {
  page.receivedCount.textContent = String(received)
  page.shownCount.textContent = String(shown)
  page.emptyTable.hidden = shown > 0
  page.pendingCount.hidden = waiting === undefined
  page.pendingCount.textContent =
    waiting === undefined ? '' : `Paused: ${waiting} new ${waiting === 1 ? 'event' : 'events'}`
}

/** Shows text beside the state. It is cut to its width on screen; its title shows all of it. */
function showStateDetail(text: string): void {
  page.stateDetail.textContent = text
  page.stateDetail.title = text
}

/**
 * Shows the connection state, and the error behind it when there is one. A state change without
 * an error keeps the last error on show.
 */
function showState(state: ConnectionState, error: TidingsClientError | undefined): void {
  page.state.dataset['state'] = state
  page.state.textContent = state
  const cause = error === undefined ? undefined : `${error.kind}: ${error.message}`
  if (state === 'open') showStateDetail('')
  else if (state === 'closed' && cause === undefined) {
    showStateDetail('(reload the page to subscribe again)')
  } else if (state === 'closed') showStateDetail(`(${cause}; reload the page to subscribe again)`)
  else if (cause !== undefined) showStateDetail(`(${cause})`)
}

/** Event types in the filter's options. */
const filterTypes = new Set<string>()

/** Adds `eventType` to the filter's options, in alphabetical order, the first time it is seen. */
function addFilterOption(eventType: string): void {
  if (filterTypes.has(eventType)) return
  filterTypes.add(eventType)
  // The first option is "All types".
  const next = [...page.typeFilter.options].slice(1).find((option) => option.value > eventType)
  page.typeFilter.add(new Option(eventType, eventType), next ?? null)
}

function selectCase(caseId: string): void {
  page.caseId.value = caseId
  page.assigneeId.focus()
}

function showLatestCase(caseId: string): void {
  latestCaseId = caseId
  page.caseId.placeholder = `most recent: ${caseId}`
}

const table = new EventTable({
  body: page.eventRows,
  maxRows: Number(page.eventRows.dataset['maxRows']) || 500,
  onCountsChange: showCounts,
  onSelectCase: selectCase,
})

const client = createTidingsClient<CaseEventMap>({ url: hubUrl })
client.onStateChange(({ state, error }) => showState(state, error))
client.onError((error) => {
  if (client.state !== 'open') showState(client.state, error)
})
client.onOpen((established) => {
  page.subscriptionId.textContent = established.subscriptionId
})
client.onReset(() => {
  const time = formatTime(new Date())
  page.resetText.textContent = `At ${time} the hub reset this subscription: it could not replay every event missed while disconnected, so some events are missing from the table. Newer events arrive as usual.`
  page.resetNotice.hidden = false
})
client.on('CASE_CREATED', (event) => showLatestCase(event.caseId))
client.onEvent((event, info) => {
  addFilterOption(event.eventType)
  table.add(toEventEntry(event, info.id))
})

page.resetDismiss.addEventListener('click', () => {
  page.resetNotice.hidden = true
})
page.typeFilter.addEventListener('change', () => table.setFilter(page.typeFilter.value))
page.pauseButton.addEventListener('click', () => {
  if (table.paused) table.resume()
  else table.pause()
  page.pauseButton.setAttribute('aria-pressed', String(table.paused))
  page.pauseButton.textContent = table.paused ? 'Resume' : 'Pause'
})
page.clearButton.addEventListener('click', () => table.clear())

/**
 * Runs one case request from `form`, with its buttons disabled meanwhile, and reports the outcome
 * under the forms.
 */
async function runCaseAction(form: HTMLFormElement, action: () => Promise<string>): Promise<void> {
  const buttons = [...form.querySelectorAll('button')]
  for (const button of buttons) button.disabled = true
  page.actionError.hidden = true
  try {
    page.actionStatus.textContent = await action()
  } catch (err) {
    page.actionStatus.textContent = ''
    page.actionError.textContent =
      err instanceof CaseRequestError && err.code !== undefined
        ? `${err.code}: ${err.message}`
        : String(err instanceof Error ? err.message : err)
    page.actionError.hidden = false
  } finally {
    for (const button of buttons) button.disabled = false
  }
}

page.createForm.addEventListener('submit', (event) => {
  event.preventDefault()
  void runCaseAction(page.createForm, async () => {
    const created = await createCase(hubUrl, page.caseTitle.value.trim())
    page.caseTitle.value = ''
    page.caseId.value = created.id
    showLatestCase(created.id)
    return `Created case ${created.id}`
  })
})

page.assignForm.addEventListener('submit', (event) => {
  event.preventDefault()
  const unassign = (event.submitter as HTMLButtonElement | null)?.value === 'unassign'
  void runCaseAction(page.assignForm, async () => {
    const caseId = page.caseId.value.trim() || latestCaseId
    if (caseId === undefined) {
      throw new Error('No case to change: create a case, select one in the table or enter its id')
    }
    if (unassign) {
      await unassignCase(hubUrl, caseId)
      return `Unassigned case ${caseId}`
    }
    const assigneeId = page.assigneeId.value.trim()
    const updated = await assignCase(hubUrl, caseId, assigneeId)
    return `Assigned case ${updated.id} to ${assigneeId}`
  })
})

showState(client.state, undefined)
page.scriptNotice.hidden = true
