/** Error codes of @kiln/llb. */
export type LlbErrorCode =
  | 'LLB_INVALID_ARGUMENT'
  | 'LLB_UNSUPPORTED_CAP'
  | 'LLB_DEFINITION_TOO_LARGE'
  | 'LLB_INVALID_DEFINITION'

const LLB_ERROR = Symbol.for('kiln.llb.error')
const CORE_ERROR_MARKER = Symbol.for('kiln.core.error')

/** Structured fields an {@link LlbError} may carry. */
export interface LlbErrorFields {
  /** The capability id (or feature name) that is missing or disabled. */
  feature?: string
  /** The vertex name of the op that needs it (its custom name, or what BuildKit would show). */
  op?: string
  /** The engine's name and version, as given to `marshal`. */
  engine?: string
  /** Why the engine disabled the capability, when it said. */
  reason?: string
  /** Sizes for `LLB_DEFINITION_TOO_LARGE`. */
  size?: number
  limit?: number
  /** Digest involved in an `LLB_INVALID_DEFINITION`. */
  digest?: string
}

/**
 * The one error class of @kiln/llb. `code` says what went wrong; the fields say where. Thrown before anything is
 * sent to an engine.
 *
 * @example
 * ```ts
 * try { state.marshal({ ...DOCKERD_20_10 }) } catch (error) {
 *   if (isLlbError(error, 'LLB_UNSUPPORTED_CAP')) console.error(error.feature, error.op, error.engine)
 * }
 * ```
 */
export class LlbError extends Error implements LlbErrorFields {
  readonly [LLB_ERROR] = true
  readonly code: LlbErrorCode
  readonly feature?: string
  readonly op?: string
  readonly engine?: string
  readonly reason?: string
  readonly size?: number
  readonly limit?: number
  readonly digest?: string

  constructor(code: LlbErrorCode, message: string, fields: LlbErrorFields = {}, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LlbError'
    this.code = code
    // The registered marker of @kiln/core's errors: `isCoreError(error, 'LLB_UNSUPPORTED_CAP')` recognises this
    // error without llb importing core (the codes are part of core's code union).
    Object.defineProperty(this, CORE_ERROR_MARKER, { value: true })
    Object.assign(this, fields)
  }
}

/** True when `value` is an {@link LlbError} (from any copy of this package), optionally with the given code. */
export function isLlbError(value: unknown, code?: LlbErrorCode): value is LlbError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[LLB_ERROR] === true &&
    (code === undefined || (value as LlbError).code === code)
}

/** Throws `LLB_INVALID_ARGUMENT`. */
export function invalid(message: string): never {
  throw new LlbError('LLB_INVALID_ARGUMENT', message)
}
