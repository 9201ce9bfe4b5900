/**
 * The CLI's error model. Library code throws; only `main` prints and picks an exit code.
 * A `CliError` carries its exit code; user errors (config, flags) never print a stack trace.
 */

export const ExitCode = {
  ok: 0,
  /** A node failed (or could not run on this engine). */
  failed: 1,
  /** A user error: config, flags, params, missing plugin or secret. */
  usage: 2,
  /** No engine could be reached. */
  engineUnavailable: 3,
  /** Interrupted with Ctrl-C (SIGINT). */
  interrupted: 130,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

/** Where in a config file something is. Line and column are 1-based. */
export interface SourcePosition {
  file: string
  line?: number
  column?: number
}

/** One problem found in a config, located as precisely as the source allows. */
export interface Diagnostic {
  message: string
  position?: SourcePosition
  nodeId?: string
  /** A dotted path inside the node's config (`mounts./src`), or inside the file for top-level fields. */
  field?: string
  expected?: string
  received?: string
  hint?: string
}

export class CliError extends Error {
  override name = 'CliError'
  readonly exitCode: ExitCodeValue
  readonly hint: string | undefined
  constructor(message: string, exitCode: ExitCodeValue, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.exitCode = exitCode
    this.hint = options.hint
  }
}

/** A user error: wrong flag, bad param, unreadable file. Exit code 2. */
export class UsageError extends CliError {
  override name = 'UsageError'
  constructor(message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, ExitCode.usage, options)
  }
}

/** One or more problems in the config, each with file:line:column. Exit code 2. */
export class ConfigError extends CliError {
  override name = 'ConfigError'
  readonly diagnostics: readonly Diagnostic[]
  constructor(diagnostics: readonly Diagnostic[], options: { cause?: unknown } = {}) {
    super(diagnostics.map(formatDiagnostic).join('\n'), ExitCode.usage, options)
    this.diagnostics = diagnostics
  }
}

/** The engine could not be reached. Exit code 3. */
export class EngineUnavailableError extends CliError {
  override name = 'EngineUnavailableError'
  readonly address: string | undefined
  constructor(message: string, options: { address?: string; cause?: unknown; hint?: string } = {}) {
    super(message, ExitCode.engineUnavailable, options)
    this.address = options.address
  }
}

/** Ctrl-C. Exit code 130. */
export class InterruptedError extends CliError {
  override name = 'InterruptedError'
  constructor(message = 'interrupted') {
    super(message, ExitCode.interrupted)
  }
}

export function formatPosition(position: SourcePosition): string {
  if (position.line === undefined) return position.file
  return `${position.file}:${position.line}:${position.column ?? 1}`
}

/**
 * `kiln.yaml:12:7: node "build": field mounts./src: expected a node reference, received 42`
 */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  const parts: string[] = []
  if (diagnostic.position) parts.push(formatPosition(diagnostic.position))
  if (diagnostic.nodeId !== undefined) parts.push(`node "${diagnostic.nodeId}"`)
  if (diagnostic.field !== undefined && diagnostic.field !== '') parts.push(`field ${diagnostic.field}`)
  let message = diagnostic.message
  if (diagnostic.expected !== undefined || diagnostic.received !== undefined) {
    const detail = [
      diagnostic.expected === undefined ? undefined : `expected ${diagnostic.expected}`,
      diagnostic.received === undefined ? undefined : `received ${diagnostic.received}`,
    ]
      .filter((part) => part !== undefined)
      .join(', ')
    if (!message.includes(detail)) message = message === '' ? detail : `${message}: ${detail}`
  }
  parts.push(message)
  const line = parts.join(': ')
  return diagnostic.hint === undefined ? line : `${line}\n  hint: ${diagnostic.hint}`
}

/** The first error in `error`'s cause chain (itself included) that matches. */
export function findCause<T>(error: unknown, match: (candidate: unknown) => candidate is T): T | undefined {
  const seen = new Set<unknown>()
  let current: unknown = error
  while (current !== undefined && current !== null && !seen.has(current)) {
    if (match(current)) return current
    seen.add(current)
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

export function isEngineUnavailable(error: unknown): error is EngineUnavailableError {
  return error instanceof EngineUnavailableError
}
