/**
 * Markup and stylesheet of the live console that the standalone hub serves at `/`. The page's
 * script, `console/console-app.js`, is the build output of `src/console/`.
 * @module
 */

/**
 * Maximum number of events the console keeps and shows. The page passes it to its script in the
 * `data-max-rows` attribute of the table body.
 */
export const CONSOLE_MAX_ROWS = 500

/**
 * Stylesheet of the console, inlined into the page. The page's Content-Security-Policy allows it
 * by its hash, so style attributes in the markup would be blocked and none are used.
 */
export const CONSOLE_STYLE = `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #59636e; --bg: #ffffff;
  --panel: #f4f6f8; --line: #d1d9e0; --accent: #0b5cad; --ok: #1a7f37; --warn: #9a6700;
  --bad: #cf222e; --notice: #fff8c5; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --panel: #161b22; --line: #30363d;
    --accent: #4493f8; --ok: #3fb950; --warn: #d29922; --bad: #f85149; --notice: #3b2e00; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header, main { padding: 0 1rem; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.5rem 2rem;
  border-bottom: 1px solid var(--line); background: var(--panel); }
h1 { font-size: 1.25rem; margin: 0.75rem 0; }
h2 { font-size: 1rem; margin: 1rem 0 0.5rem; }
dl { display: flex; flex-wrap: wrap; gap: 0.25rem 1.5rem; margin: 0.75rem 0; }
dl div { display: flex; gap: 0.4rem; }
dt { color: var(--muted); }
dd { margin: 0; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 0.85rem; }
.state::before { content: ''; display: inline-block; width: 0.6rem; height: 0.6rem;
  margin-right: 0.35rem; border-radius: 50%; background: var(--warn); }
.state[data-state='open']::before { background: var(--ok); }
.state[data-state='closed']::before { background: var(--bad); }
.detail { color: var(--muted); }
#connection-detail { display: inline-block; max-width: 30rem; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; vertical-align: bottom; }
.notice { margin: 0.75rem 1rem; padding: 0.5rem 0.75rem; border: 1px solid var(--warn);
  border-radius: 4px; background: var(--notice); }
.notice button { margin-left: 0.75rem; }
.forms { display: flex; flex-wrap: wrap; gap: 0.5rem 2rem; }
form, .toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; }
input, select, button { font: inherit; color: inherit; padding: 0.25rem 0.5rem;
  border: 1px solid var(--line); border-radius: 4px; background: var(--bg); }
input#case-id { width: 27rem; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 0.85rem; }
button { cursor: pointer; background: var(--panel); }
button:hover { border-color: var(--accent); }
button[aria-pressed='true'] { background: var(--accent); border-color: var(--accent);
  color: var(--bg); }
button:disabled { cursor: progress; opacity: 0.6; }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
.message { min-height: 1.4em; margin: 0.5rem 0; }
.error { color: var(--bad); }
.toolbar { margin-bottom: 0.5rem; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; }
caption { text-align: left; color: var(--muted); padding-bottom: 0.25rem; }
th, td { text-align: left; vertical-align: top; padding: 0.2rem 0.5rem;
  border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
th { background: var(--panel); font-weight: 600; }
th.received { width: 7.5rem; }
th.type { width: 10rem; }
th.id { width: 21rem; }
th.case { width: 4.5rem; }
tbody td { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 0.8rem; }
tbody td.case { font-family: inherit; }
tbody td.case button { padding: 0 0.4rem; font-size: 0.8rem; }
.empty { color: var(--muted); }
`

/**
 * The console page. Every element the script reads has an id. The notice with id
 * `script-notice` stays visible until the script starts, so a page whose script failed to load
 * says why instead of sitting empty.
 */
export const CONSOLE_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tidings console</title>
<link rel="icon" href="data:,">
<style>${CONSOLE_STYLE}</style>
<script type="module" src="./console/console-app.js"></script>
</head>
<body>
<header>
  <h1>Tidings console</h1>
  <dl>
    <div><dt>Connection</dt><dd><span id="connection-state" class="state" data-state="connecting" aria-live="polite">connecting</span> <span id="connection-detail" class="detail"></span></dd></div>
    <div><dt>Subscription</dt><dd><code id="subscription-id">none yet</code></dd></div>
    <div><dt>Received</dt><dd id="received-count">0</dd></div>
    <div><dt>Shown</dt><dd id="shown-count">0</dd></div>
  </dl>
</header>
<p id="script-notice" class="notice">The console script has not started. If this message stays, the hub may be running from its TypeScript sources: run <code>npm run build</code> and start the hub with <code>npm start</code>.</p>
<div id="reset-notice" class="notice" role="alert" hidden>
  <span id="reset-text"></span>
  <button id="reset-dismiss" type="button">Dismiss</button>
</div>
<main>
  <section aria-labelledby="cases-heading">
    <h2 id="cases-heading">Cases</h2>
    <div class="forms">
      <form id="create-form" novalidate>
        <label for="case-title">Title (optional)</label>
        <input id="case-title" name="title" maxlength="200" autocomplete="off">
        <button type="submit">Create case</button>
      </form>
      <form id="assign-form" novalidate>
        <label for="case-id">Case id</label>
        <input id="case-id" name="caseId" autocomplete="off" spellcheck="false" placeholder="most recent case">
        <label for="assignee-id">Assignee</label>
        <input id="assignee-id" name="assigneeId" maxlength="200" autocomplete="off">
        <button type="submit" value="assign">Assign</button>
        <button type="submit" value="unassign">Unassign</button>
      </form>
    </div>
    <p id="action-status" class="message" role="status"></p>
    <p id="action-error" class="message error" role="alert" hidden></p>
  </section>
  <section aria-labelledby="events-heading">
    <h2 id="events-heading">Events</h2>
    <div class="toolbar">
      <label for="type-filter">Event type</label>
      <select id="type-filter"><option value="">All types</option></select>
      <button id="pause-button" type="button" aria-pressed="false">Pause</button>
      <button id="clear-button" type="button">Clear</button>
      <span id="pending-count" class="detail" hidden></span>
    </div>
    <table>
      <caption>Events received by this page, newest first. The page keeps the newest ${CONSOLE_MAX_ROWS}.</caption>
      <thead>
        <tr>
          <th scope="col" class="received">Received</th>
          <th scope="col" class="type">Type</th>
          <th scope="col" class="id">Id</th>
          <th scope="col">Properties</th>
          <th scope="col" class="case">Case</th>
        </tr>
      </thead>
      <tbody id="event-rows" data-max-rows="${CONSOLE_MAX_ROWS}"></tbody>
    </table>
    <p id="empty-table" class="empty">No events to show yet. Create a case or publish an event.</p>
  </section>
</main>
</body>
</html>
`
