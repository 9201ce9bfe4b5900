/**
 * Errors of the BuildKit client. Every failure the client reports is a `BuildkitError` with a `BUILDKIT_*` code,
 * so callers branch on `code` rather than on message text.
 *
 * A BuildkitError carries @kiln/core's error marker, so core's `isCoreError(error)` and `isCoreError(error,
 * 'BUILDKIT_UNAVAILABLE')` recognise it. It does not extend core's `EngineError` yet because core's code union
 * lists only part of these codes (CONNECTION_LOST, SESSION, RPC, INVALID_* and FILE_TRANSFER are missing there).
 */
export type BuildkitErrorCode =
  /** The engine could not be reached at the resolved address. */
  | 'BUILDKIT_UNAVAILABLE'
  /** The engine address could not be parsed. */
  | 'BUILDKIT_INVALID_ADDRESS'
  /** The connection to the engine dropped while calls were in flight. */
  | 'BUILDKIT_CONNECTION_LOST'
  /** The caller aborted the call (AbortSignal). */
  | 'BUILDKIT_CANCELLED'
  /** The engine ran the solve and it failed (the message is the engine's). */
  | 'BUILDKIT_SOLVE_FAILED'
  /** A gRPC call failed for another reason; `grpcCode` holds the status code. */
  | 'BUILDKIT_RPC'
  /** The engine lacks a feature the request needs (an exporter, a cap, an RPC). */
  | 'BUILDKIT_UNSUPPORTED'
  /** A Definition was refused locally before sending (for example a dangling input digest). */
  | 'BUILDKIT_INVALID_DEFINITION'
  /** The request itself is malformed (both a definition and a frontend, a missing export destination, ...). */
  | 'BUILDKIT_INVALID_REQUEST'
  /** A file sent or received through the session was refused (path escapes, unreadable files, ...). */
  | 'BUILDKIT_FILE_TRANSFER'
  /** The session could not be opened or was closed by the engine. */
  | 'BUILDKIT_SESSION'

const marker = Symbol.for('kiln.error')
/** @kiln/core's CORE_ERROR marker (a registered symbol, so no import is needed to set it). */
const coreMarker = Symbol.for('kiln.core.error')

export interface BuildkitErrorFields {
  /** The engine address involved, when there is one. */
  address?: string
  /** gRPC status code, for errors that came from a gRPC call. */
  grpcCode?: number
  /** gRPC method path, for errors that came from a gRPC call. */
  method?: string
  /** Typed details the engine attached (`grpc-status-details-bin`), as type URL and raw value. */
  details?: { typeUrl: string; value: Uint8Array }[]
  cause?: unknown
}

export class BuildkitError extends Error {
  readonly code: BuildkitErrorCode
  readonly address: string | undefined
  readonly grpcCode: number | undefined
  readonly method: string | undefined
  readonly details: { typeUrl: string; value: Uint8Array }[]
  readonly [marker] = true

  constructor(code: BuildkitErrorCode, message: string, fields: BuildkitErrorFields = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause })
    this.name = 'BuildkitError'
    this.code = code
    this.address = fields.address
    this.grpcCode = fields.grpcCode
    this.method = fields.method
    this.details = fields.details ?? []
    Object.defineProperty(this, coreMarker, { value: true })
  }

  /** A JSON-able view for reports and logs (no stack, no cause object). */
  toJSON(): { name: string; code: BuildkitErrorCode; message: string; details: Record<string, unknown> } {
    const details: Record<string, unknown> = {}
    if (this.address !== undefined) details.address = this.address
    if (this.grpcCode !== undefined) details.grpcCode = this.grpcCode
    if (this.method !== undefined) details.method = this.method
    return { name: this.name, code: this.code, message: this.message, details }
  }
}

/** True when `error` is a BuildkitError, optionally with the given code. Works across copies of this package. */
export function isBuildkitError(error: unknown, code?: BuildkitErrorCode): error is BuildkitError {
  if (typeof error !== 'object' || error === null || !(marker in error)) return false
  return code === undefined || (error as BuildkitError).code === code
}

/** gRPC status codes used by the client. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const
