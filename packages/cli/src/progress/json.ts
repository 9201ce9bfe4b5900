import type { KilnEvent, Reporter, RunSummary } from '@kiln/core'
import type { Output } from './format.js'

/** One JSON object per line, for tools: every event, then `{"type":"run.summary", ...}`. */
export class JsonReporter implements Reporter {
  constructor(private readonly out: Output) {}

  onEvent(event: KilnEvent): void {
    this.out.write(`${JSON.stringify(event)}\n`)
  }

  close(summary: RunSummary): void {
    this.out.write(`${JSON.stringify({ type: 'run.summary', time: Date.now(), ...summary })}\n`)
  }
}
