import type { KilnEvent, Reporter, RunSummary } from '@kiln/core'
import { colors, formatDuration, formatSummary, shortError, type Output, type Style } from './format.js'

type Status = 'queued' | 'running' | 'done' | 'cached' | 'failed' | 'skipped'

interface NodeView {
  id: string
  status: Status
  startedAt?: number
  endedAt?: number
  step?: string
  detail?: string
  logs: string[]
  partial: string
}

export interface TtyOutput extends Output {
  columns?: number
}

export interface TtyReporterOptions {
  /** Redraw period in ms (default 100). 0 disables the timer: redraws happen on events only (tests). */
  interval?: number
  /** How many log lines of a failing node to show (default 12, like buildx). */
  tailLines?: number
  now?: () => number
  style?: Style
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

/**
 * A live view, one line per node (queued, running with its current step, cached, done, failed, skipped, with
 * durations), redrawn in place; at the end, the last log lines of every failed node and the summary.
 */
export class TtyReporter implements Reporter {
  private readonly nodes = new Map<string, NodeView>()
  private readonly tailLines: number
  private readonly now: () => number
  private readonly style: Style
  private readonly timer: NodeJS.Timeout | undefined
  private drawn = 0
  private frame = 0
  private startedAt: number
  private closed = false

  constructor(
    private readonly out: TtyOutput,
    options: TtyReporterOptions = {},
  ) {
    this.tailLines = options.tailLines ?? 12
    this.now = options.now ?? Date.now
    this.style = options.style ?? colors
    this.startedAt = this.now()
    const interval = options.interval ?? 100
    if (interval > 0) {
      this.timer = setInterval(() => this.render(), interval)
      this.timer.unref()
    }
  }

  onEvent(event: KilnEvent): void {
    if (event.type === 'run.started') {
      this.startedAt = event.time
      for (const id of event.nodes) this.view(id)
      return
    }
    if (event.type === 'run.finished') return
    const node = this.view(event.nodeId)
    switch (event.type) {
      case 'node.queued':
        break
      case 'node.started':
        node.status = 'running'
        node.startedAt = event.time
        break
      case 'node.progress':
        if (event.started !== undefined && event.completed === undefined) node.step = event.name
        break
      case 'node.cached':
        break
      case 'node.log': {
        const lines = (node.partial + event.text).split('\n')
        node.partial = lines.pop() ?? ''
        node.logs.push(...lines.map((line) => line.replace(/\r$/, '')))
        if (node.logs.length > this.tailLines) node.logs.splice(0, node.logs.length - this.tailLines)
        break
      }
      case 'node.done':
        node.status = event.cached ? 'cached' : 'done'
        node.endedAt = event.time
        node.startedAt ??= event.time - event.durationMs
        break
      case 'node.failed':
        node.status = 'failed'
        node.endedAt = event.time
        node.startedAt ??= event.time - event.durationMs
        node.detail = event.error.message
        break
      case 'node.skipped':
        node.status = 'skipped'
        node.detail = event.reason
        break
    }
    if (!this.timer) this.render()
  }

  close(summary: RunSummary): void {
    if (this.timer) clearInterval(this.timer)
    this.render()
    this.closed = true
    const { style } = this
    for (const node of this.nodes.values()) {
      if (node.status !== 'failed') continue
      const logs = node.partial ? [...node.logs, node.partial] : node.logs
      this.out.write(`\n${style.red(style.bold(`✗ ${node.id}`))}${node.detail ? `: ${node.detail}` : ''}\n`)
      if (logs.length > 0) {
        this.out.write(style.dim(`  last ${logs.length} line${logs.length === 1 ? '' : 's'} of output:\n`))
        for (const line of logs.slice(-this.tailLines)) this.out.write(`  ${style.dim('│')} ${line}\n`)
      }
    }
    this.out.write(`\n${formatSummary(summary, style)}`)
  }

  private view(id: string): NodeView {
    let node = this.nodes.get(id)
    if (!node) {
      node = { id, status: 'queued', logs: [], partial: '' }
      this.nodes.set(id, node)
    }
    return node
  }

  private render(): void {
    if (this.closed) return
    this.frame += 1
    const width = Math.max(40, this.out.columns ?? 80)
    const nodes = [...this.nodes.values()]
    const finished = nodes.filter((node) => node.status !== 'queued' && node.status !== 'running').length
    const idWidth = Math.min(24, Math.max(0, ...nodes.map((node) => node.id.length)))
    const { style } = this
    const header = `${style.bold('[+] Running')} ${finished}/${nodes.length}  ${formatDuration(this.now() - this.startedAt)}`
    const lines = [header, ...nodes.map((node) => this.line(node, idWidth))].map((line) => truncate(line, width))
    const up = this.drawn > 0 ? `\u001b[${this.drawn}A` : ''
    this.out.write(`${up}\r\u001b[J${lines.join('\n')}\n`)
    this.drawn = lines.length
  }

  private line(node: NodeView, idWidth: number): string {
    const { style } = this
    const elapsed = node.startedAt === undefined ? '' : formatDuration((node.endedAt ?? this.now()) - node.startedAt)
    const id = node.id.padEnd(idWidth)
    switch (node.status) {
      case 'queued':
        return ` ${style.dim('·')} ${id}  ${style.dim('queued')}`
      case 'running':
        return ` ${style.yellow(SPINNER[this.frame % SPINNER.length] ?? '*')} ${id}  ${elapsed.padStart(6)}  ${style.dim(node.step ?? 'running')}`
      case 'cached':
        return ` ${style.green('✓')} ${id}  ${elapsed.padStart(6)}  ${style.blue('cached')}`
      case 'done':
        return ` ${style.green('✓')} ${id}  ${elapsed.padStart(6)}  done`
      case 'failed':
        return ` ${style.red('✗')} ${id}  ${elapsed.padStart(6)}  ${style.red(`failed${node.detail ? `: ${shortError(node.detail)}` : ''}`)}`
      case 'skipped':
        return ` ${style.dim('-')} ${id}  ${''.padStart(6)}  ${style.dim(`skipped${node.detail ? `: ${node.detail}` : ''}`)}`
    }
  }
}

/** Cuts a line to the terminal width, ignoring ANSI escapes when counting. */
function truncate(line: string, width: number): string {
  let visible = 0
  let result = ''
  for (let index = 0; index < line.length; index++) {
    const char = line[index] as string
    if (char === '\u001b') {
      const end = line.indexOf('m', index)
      if (end !== -1) {
        result += line.slice(index, end + 1)
        index = end
        continue
      }
    }
    if (visible >= width - 1) {
      result += '\u001b[0m'
      break
    }
    result += char
    visible += 1
  }
  return result
}
