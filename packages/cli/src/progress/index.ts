import type { Reporter } from '@kiln/core'
import { UsageError } from '../errors.js'
import { JsonReporter } from './json.js'
import { PlainReporter } from './plain.js'
import { TtyReporter, type TtyOutput } from './tty.js'

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'json'
export const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'tty', 'plain', 'json']

export interface ProgressStreams {
  /** Progress for people (tty, plain) goes to stderr, like buildx. */
  stderr: TtyOutput & { isTTY?: boolean }
  /** JSON events go to stdout, for tools. */
  stdout: TtyOutput & { isTTY?: boolean }
  env?: Readonly<Record<string, string | undefined>>
}

/** `auto` is the live view on a terminal and plain lines elsewhere (pipes, CI, TERM=dumb). */
export function resolveProgressMode(mode: string, streams: ProgressStreams): Exclude<ProgressMode, 'auto'> {
  if (!PROGRESS_MODES.includes(mode as ProgressMode)) throw new UsageError(`--progress ${mode}: expected one of ${PROGRESS_MODES.join(', ')}`)
  if (mode !== 'auto') return mode as Exclude<ProgressMode, 'auto'>
  const env = streams.env ?? process.env
  const terminal = streams.stdout.isTTY === true && streams.stderr.isTTY === true && env.TERM !== 'dumb' && env.CI === undefined
  return terminal ? 'tty' : 'plain'
}

export function createReporter(mode: Exclude<ProgressMode, 'auto'>, streams: ProgressStreams): Reporter {
  switch (mode) {
    case 'json':
      return new JsonReporter(streams.stdout)
    case 'plain':
      return new PlainReporter(streams.stderr)
    case 'tty':
      return new TtyReporter(streams.stderr)
  }
}

export { JsonReporter, PlainReporter, TtyReporter }
export { formatDuration, formatSummary } from './format.js'
