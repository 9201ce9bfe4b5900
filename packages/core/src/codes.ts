/**
 * Every error code Kiln uses, namespaced by the layer that raises it.
 *
 * - `GRAPH_*`: the shape of the DAG (ids, references, cycles, params, secrets).
 * - `NODE_*`: one node's type, config or outputs.
 * - `PLUGIN_*`: a plugin's definition or a hook that threw.
 * - `POLICY_*`: policy findings that block a run.
 * - `CONFIG_*`: the top-level pipeline configuration.
 * - `SECRET_*`: secrets resolved at run time.
 * - `LLB_*`: building or marshalling LLB (raised by `@kiln/llb`, which mirrors these codes).
 * - `BUILDKIT_*`: talking to the engine (raised by `@kiln/buildkit`).
 *
 * Adding a code is a minor change; renaming or removing one is breaking.
 */
export const ERROR_CODES = [
  'GRAPH_INVALID',
  'GRAPH_DUPLICATE_ID',
  'GRAPH_INVALID_ID',
  'GRAPH_DANGLING_REFERENCE',
  'GRAPH_UNKNOWN_OUTPUT',
  'GRAPH_KIND_MISMATCH',
  'GRAPH_CYCLE',
  'GRAPH_UNKNOWN_PARAM',
  'GRAPH_MISSING_PARAM',
  'GRAPH_UNKNOWN_SECRET',
  'NODE_UNKNOWN_TYPE',
  'NODE_INVALID_CONFIG',
  'NODE_INVALID_OUTPUT',
  'NODE_ENGINE_REQUIRED',
  'PLUGIN_ERROR',
  'PLUGIN_INVALID',
  'PLUGIN_DUPLICATE_KIND',
  'POLICY_DENIED',
  'CONFIG_INVALID',
  'SECRET_NOT_FOUND',
  'LLB_INVALID_ARGUMENT',
  'LLB_UNSUPPORTED_CAP',
  'LLB_DEFINITION_TOO_LARGE',
  'LLB_INVALID_DEFINITION',
  'BUILDKIT_UNAVAILABLE',
  'BUILDKIT_INVALID_ADDRESS',
  'BUILDKIT_CONNECTION_LOST',
  'BUILDKIT_RPC',
  'BUILDKIT_INVALID_DEFINITION',
  'BUILDKIT_INVALID_REQUEST',
  'BUILDKIT_FILE_TRANSFER',
  'BUILDKIT_SESSION',
  'BUILDKIT_UNSUPPORTED',
  'BUILDKIT_SOLVE_FAILED',
  'BUILDKIT_EXPORT_FAILED',
  'BUILDKIT_CANCELLED',
  'BUILDKIT_PROTOCOL',
  'BUILDKIT_AUTH',
] as const

/** A Kiln error code: one of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number]
