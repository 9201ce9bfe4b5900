import type { KilnEvent, Reporter, RunSummary } from '@kiln/core'
import { formatDuration, formatSummary, type Output } from './format.js'

/** Line logs prefixed by node id, for CI logs and pipes. */
export class PlainReporter implements Reporter {
  private readonly partial = new Map<string, string>()
  private readonly vertices = new Set<string>()
  private readonly names = new Map<string, string>()
  private readonly cached = new Set<string>()

  constructor(private readonly out: Output) {}

  onEvent(event: KilnEvent): void {
    switch (event.type) {
      case 'node.started':
        this.line(event.nodeId, 'started')
        break
      case 'node.progress': {
        const key = `${event.nodeId} ${event.vertex}`
        if (event.name) this.names.set(event.vertex, event.name)
        if (event.started !== undefined && !this.vertices.has(key)) {
          this.vertices.add(key)
          this.line(event.nodeId, `=> ${this.cached.has(key) ? 'CACHED ' : ''}${event.name}`)
        }
        break
      }
      case 'node.cached': {
        const key = `${event.nodeId} ${event.vertex ?? ''}`
        // The vertex's progress event (with its name) follows; it prints the line.
        if (event.vertex !== undefined) this.cached.add(key)
        break
      }
      case 'node.log':
        this.log(event.nodeId, event.text)
        break
      case 'node.done':
        this.flush(event.nodeId)
        this.line(event.nodeId, `done in ${formatDuration(event.durationMs)}${event.cached ? ' (cached)' : ''}`)
        break
      case 'node.failed':
        this.flush(event.nodeId)
        this.line(event.nodeId, `FAILED after ${formatDuration(event.durationMs)}: ${event.error.message}`)
        break
      case 'node.skipped':
        this.line(event.nodeId, `skipped: ${event.reason}`)
        break
      default:
        break
    }
  }

  close(summary: RunSummary): void {
    for (const nodeId of [...this.partial.keys()]) this.flush(nodeId)
    this.out.write(formatSummary(summary))
  }

  private log(nodeId: string, text: string): void {
    const buffered = (this.partial.get(nodeId) ?? '') + text
    const lines = buffered.split('\n')
    this.partial.set(nodeId, lines.pop() ?? '')
    for (const line of lines) this.line(nodeId, line.replace(/\r$/, ''))
  }

  private flush(nodeId: string): void {
    const rest = this.partial.get(nodeId)
    this.partial.delete(nodeId)
    if (rest) this.line(nodeId, rest)
  }

  private line(nodeId: string, text: string): void {
    for (const line of text.split('\n')) this.out.write(`[${nodeId}] ${line}\n`)
  }
}
