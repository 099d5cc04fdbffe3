/**
 * Plain-text tables, numbers and notes of the benchmark reports.
 * @module
 */
import type { ServerLog } from './child-processes.js'
import type { LoadResult } from './load-generator.js'

/** Formats a number with thousands separators, or `-` for a missing value. */
export function formatNumber(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined) return '-'
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  })
}

/** Formats a CPU share in percent of one core, or `-` for a missing value. */
export function formatPercent(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : `${value}%`
}

/**
 * Lays out rows under a header: the first column left-aligned, the others right-aligned. A row
 * with fewer cells than the header, such as a label followed by a failure note, keeps its last
 * cell unpadded, and that cell does not widen its column.
 */
export function formatColumns(header: readonly string[], rows: readonly string[][]): string {
  const isFull = (row: readonly string[]): boolean => row.length >= header.length
  const widths = header.map((title, i) =>
    Math.max(
      title.length,
      ...rows.map((row) => (isFull(row) || i < row.length - 1 ? (row[i] ?? '').length : 0)),
    ),
  )
  const pad = (cell: string, i: number): string =>
    i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)
  const format = (row: readonly string[]): string => {
    if (isFull(row)) return row.map(pad).join('  ')
    const last = row.length - 1
    return row.map((cell, i) => (i === last ? cell : pad(cell, i))).join('  ')
  }
  return [format(header), ...rows.map(format)].join('\n')
}

/** Lists what kept a load generator run from being complete, or its results from being clean. */
export function listProblems(result: LoadResult): string[] {
  const notes: string[] = []
  if (result.connected < result.conns) {
    notes.push(
      `${result.connected} of ${result.conns} subscribers connected, ${result.connectFailures} failed`,
    )
  }
  if (result.finish === 'not-started') notes.push('nothing was published')
  if (result.finish === 'idle') notes.push('deliveries stopped before every event arrived')
  if (result.finish === 'timeout') notes.push('the delivery phase timed out')
  if (result.publishFailures > 0) notes.push(`${result.publishFailures} publish requests failed`)
  if (result.closedEarly > 0) notes.push(`${result.closedEarly} streams ended before the run did`)
  if (result.reordered > 0 && result.publishers === 1) {
    notes.push(`sampled subscribers received ${result.reordered} events out of order`)
  }
  if (result.positionOrderErrors > 0) {
    notes.push(`${result.positionOrderErrors} events arrived with a position not above the last`)
  }
  if (result.positionDuplicates !== null && result.positionDuplicates > 0) {
    notes.push(`${result.positionDuplicates} positions were returned for more than one event`)
  }
  if (result.positionHoles !== null && result.positionHoles > 0) {
    notes.push(`${result.positionHoles} positions inside the returned range were never returned`)
  }
  return notes
}

/** Formats a server log summary: its counts, then the warning and error lines kept. */
export function formatServerLog(label: string, log: ServerLog): string {
  const counts = `${log.lines} lines, ${log.warnings} warnings, ${log.errors} errors`
  return [`${label} log: ${counts}`, ...log.kept.map((line) => `  ${line}`)].join('\n')
}
