import type { ErrorCode } from './codes.js'

/**
 * The marker every Kiln error carries. It is a registered symbol, so {@link isCoreError} recognises errors created
 * by another copy of `@kiln/core` (a plugin that brings its own) and by `@kiln/llb`, which cannot import core.
 */
export const CORE_ERROR: unique symbol = Symbol.for('kiln.core.error') as never

/** A key path into a node's config, e.g. `['mounts', '/src']` or `['exclude', 1]`. */
export type ConfigPath = readonly (string | number)[]

/**
 * Structured fields carried by a {@link CoreError}. The well-known ones are copied onto the error; anything else is
 * kept in {@link CoreError.details}.
 */
export interface CoreErrorFields {
  /** The node the error is about. */
  readonly nodeId?: string
  /** Where in the node's config (keys from the node's entry, without `type`). */
  readonly path?: ConfigPath
  /** What was expected, in words (`"string"`, `"an image"`, `"one of run, local"`). */
  readonly expected?: string
  /** What was received, in words (`"number"`, `"a filesystem"`, `"\"rnu\""`). */
  readonly received?: string
  /** The underlying error. */
  readonly cause?: unknown
  readonly [field: string]: unknown
}

/**
 * The one base class of every error Kiln raises on purpose. `code` says what happened; the structured fields say
 * where; `message` says what was expected and what was received.
 *
 * @example
 * ```ts
 * throw new GraphError('GRAPH_CYCLE', `Cycle: ${path.join(' -> ')}`, { nodes: path })
 * ```
 */
export class CoreError<C extends ErrorCode = ErrorCode> extends Error {
  declare readonly [CORE_ERROR]: true
  /** What happened, from the literal union in `codes.ts`. */
  readonly code: C
  /** The node the error is about, if any. */
  readonly nodeId?: string
  /** The path into the node's config, if any. */
  readonly path?: ConfigPath
  /** What was expected, in words. */
  readonly expected?: string
  /** What was received, in words. */
  readonly received?: string
  /** Every structured field passed to the constructor (including the well-known ones). */
  readonly details: Readonly<Record<string, unknown>>

  constructor(code: C, message: string, fields: CoreErrorFields = {}) {
    const { cause, ...details } = fields
    super(message, cause === undefined ? undefined : { cause })
    Object.defineProperty(this, CORE_ERROR, { value: true })
    this.name = new.target.name
    this.code = code
    this.details = details
    if (fields.nodeId !== undefined) this.nodeId = fields.nodeId
    if (fields.path !== undefined) this.path = fields.path
    if (fields.expected !== undefined) this.expected = fields.expected
    if (fields.received !== undefined) this.received = fields.received
  }

  /** A JSON-able view for `--progress json` and logs (no stack, no cause object). */
  toJSON(): { name: string; code: C; message: string; details: Readonly<Record<string, unknown>> } {
    return { name: this.name, code: this.code, message: this.message, details: this.details }
  }
}

/** An error about the DAG: ids, references, cycles, params and secrets. Codes `GRAPH_*`. */
export class GraphError extends CoreError {}

/** An error about one node's type, config or outputs. Codes `NODE_*`. */
export class NodeConfigError extends CoreError {}

/** An error talking to the engine. Codes `BUILDKIT_*`; raised by `@kiln/buildkit` and engine services. */
export class EngineError extends CoreError {}

/**
 * All the errors found while building a graph, reported together (code `GRAPH_INVALID`). `errors` lists each one in
 * the order found: per node in declaration order, then references, then cycles.
 */
export class GraphValidationError extends CoreError<'GRAPH_INVALID'> {
  /** Every error found, each a {@link CoreError} with its own code and fields. */
  readonly errors: readonly CoreError[]

  constructor(errors: readonly CoreError[]) {
    const count = errors.length === 1 ? '1 error' : `${errors.length} errors`
    super('GRAPH_INVALID', `Invalid graph (${count}):\n${errors.map((error) => `  - ${error.message}`).join('\n')}`, {
      codes: errors.map((error) => error.code),
    })
    this.errors = errors
  }
}

/** Which plugin hook threw. */
export type PluginHook = 'outputs' | 'phase' | 'compile' | 'policy' | 'factory'

/**
 * Wraps anything a plugin throws, naming the plugin, the hook and the node. The original error is `cause`; when it
 * was itself a {@link CoreError}, its code is kept in `details.causeCode`.
 */
export class PluginError extends CoreError<'PLUGIN_ERROR'> {
  /** The plugin's `meta.name`. */
  readonly plugin: string
  /** The hook that threw. */
  readonly hook: PluginHook

  constructor(fields: { plugin: string; hook: PluginHook; nodeId?: string; cause: unknown; message?: string }) {
    const reason = fields.message ?? describeThrown(fields.cause)
    const where = fields.nodeId === undefined ? '' : ` for node "${fields.nodeId}"`
    super('PLUGIN_ERROR', `Plugin ${fields.plugin} failed in ${fields.hook}${where}: ${reason}`, {
      plugin: fields.plugin,
      hook: fields.hook,
      ...(fields.nodeId === undefined ? {} : { nodeId: fields.nodeId }),
      ...(isCoreError(fields.cause) ? { causeCode: fields.cause.code } : {}),
      cause: fields.cause,
    })
    this.plugin = fields.plugin
    this.hook = fields.hook
  }
}

function describeThrown(value: unknown): string {
  if (value instanceof Error) return value.message
  return `threw ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`
}

/**
 * Tells whether `error` is a Kiln error (optionally with a given code). It checks the registered-symbol marker, so
 * it works across duplicate installs of `@kiln/core` and for errors raised by `@kiln/llb`.
 *
 * @example
 * ```ts
 * if (isCoreError(error, 'BUILDKIT_UNAVAILABLE')) return exit(3)
 * ```
 */
export function isCoreError<C extends ErrorCode>(error: unknown, code?: C): error is CoreError<C> {
  if (typeof error !== 'object' || error === null) return false
  if ((error as { [CORE_ERROR]?: unknown })[CORE_ERROR] !== true) return false
  return code === undefined || (error as { code?: unknown }).code === code
}
