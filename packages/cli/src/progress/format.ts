import type { RunResult, RunSummary } from '@kiln/core'

export interface Output {
  write(text: string): void
}

export interface Style {
  bold(text: string): string
  dim(text: string): string
  red(text: string): string
  green(text: string): string
  yellow(text: string): string
  blue(text: string): string
}

const wrap = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`
export const colors: Style = { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), blue: wrap(34, 39) }
const identity = (text: string) => text
export const noColors: Style = { bold: identity, dim: identity, red: identity, green: identity, yellow: identity, blue: identity }

/** `0.4s`, `12.3s`, `2m05s`. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const minutes = Math.floor(ms / 60_000)
  const seconds = Math.floor((ms % 60_000) / 1000)
  return `${minutes}m${String(seconds).padStart(2, '0')}s`
}

const SYMBOL: Record<RunResult['status'], string> = { ok: '✓', cached: '✓', failed: '✗', skipped: '-' }

/** The end-of-run table: one line per node, then the totals. */
export function formatSummary(summary: RunSummary, style: Style = noColors): string {
  const width = Math.max(0, ...summary.results.map((result) => result.nodeId.length))
  const lines = summary.results.map((result) => {
    const symbol = result.status === 'failed' ? style.red(SYMBOL.failed) : result.status === 'skipped' ? style.dim(SYMBOL.skipped) : style.green(SYMBOL[result.status])
    const duration = result.status === 'skipped' ? '' : formatDuration(result.durationMs)
    const detail =
      result.status === 'failed'
        ? style.red(`failed${result.error ? `: ${shortError(result.error.message)}` : ''}`)
        : result.status === 'cached'
          ? style.blue('cached')
          : result.status === 'skipped'
            ? style.dim('skipped')
            : 'ok'
    const values = Object.entries(result.values ?? {}).map(([name, value]) => {
      const text = typeof value === 'string' ? value : JSON.stringify(value)
      return `\n   ${''.padEnd(width)}  ${''.padStart(6)}  ${style.dim(`${name}:`)} ${text.length > 200 ? `${text.slice(0, 199)}…` : text}`
    })
    return ` ${symbol} ${result.nodeId.padEnd(width)}  ${duration.padStart(6)}  ${detail}${values.join('')}`
  })
  const counts = (['ok', 'cached', 'failed', 'skipped'] as const)
    .map((status) => [status, summary.results.filter((result) => result.status === status).length] as const)
    .filter(([, count]) => count > 0)
    .map(([status, count]) => `${count} ${status}`)
  const total = `${summary.results.length} node${summary.results.length === 1 ? '' : 's'}: ${counts.join(', ') || 'nothing to do'} in ${formatDuration(summary.durationMs)}`
  lines.push(summary.ok ? style.green(total) : style.red(total))
  return `${lines.join('\n')}\n`
}

export function firstLine(text: string): string {
  const line = text.split('\n').find((item) => item.trim() !== '')
  return line ?? text
}

/**
 * A failure in one line for summaries: BuildKit's "process "/bin/sh -c …" did not complete successfully: exit code: 2"
 * becomes "exit code: 2" (the full message is printed where the node failed).
 */
export function shortError(message: string): string {
  const line = firstLine(message).replace(/^The build failed: /, '')
  const step = /did not complete successfully: (.*)$/.exec(line)
  return step ? (step[1] ?? line) : line
}
