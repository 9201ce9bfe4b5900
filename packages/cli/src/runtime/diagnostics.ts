import { isCoreError, type CoreError, type ErrorCode } from '@kiln/core'
import type { LoadedConfig } from '../config/load.js'
import { isPlainObject } from '../config/merge.js'
import type { ConfigPath } from '../config/source-map.js'
import { ConfigError, type Diagnostic } from '../errors.js'
import { suggestPluginFor } from '../plugins/discover.js'

/** Short labels for core's codes; the structured fields (node, field, expected, received) carry the rest. */
const LABELS: Partial<Record<ErrorCode, string>> = {
  NODE_INVALID_CONFIG: '',
  NODE_UNKNOWN_TYPE: 'unknown node type',
  GRAPH_DANGLING_REFERENCE: 'reference to an unknown node',
  GRAPH_UNKNOWN_OUTPUT: 'reference to an unknown output',
  GRAPH_KIND_MISMATCH: 'reference to an output of the wrong kind',
  GRAPH_UNKNOWN_SECRET: 'undeclared secret',
  GRAPH_UNKNOWN_PARAM: 'unknown parameter',
  GRAPH_INVALID_ID: 'invalid node id',
}

/** Turns one of core's errors into a diagnostic located in the config source. */
export function diagnosticFor(error: CoreError, loaded: Pick<LoadedConfig, 'locator' | 'nodes'>): Diagnostic {
  const { nodeId } = error
  // Core's paths are into the parsed config; keep the part that exists in what the user wrote.
  const path = nodeId !== undefined && Object.hasOwn(loaded.nodes, nodeId) ? writtenPrefix(loaded.nodes[nodeId], error.path ?? []) : (error.path ?? [])
  const nodeKnown = nodeId !== undefined && Object.hasOwn(loaded.nodes, nodeId)
  let position = nodeKnown ? loaded.locator.locate(['nodes', nodeId, ...path], { key: isUnknownField(error) }) : loaded.locator.locate([])
  let field = path.length > 0 ? formatField(path) : undefined
  let message = LABELS[error.code] ?? error.message
  let hint: string | undefined
  const suggestion = typeof error.details.suggestion === 'string' ? error.details.suggestion : undefined
  if (suggestion !== undefined) hint = `did you mean "${suggestion}"?`

  switch (error.code) {
    case 'GRAPH_CYCLE': {
      const cycle = Array.isArray(error.details.nodes) ? (error.details.nodes as string[]) : []
      // Point at the reference that closes the cycle: the first node's reference to the last one before it.
      const [first, closing] = [cycle[0], cycle.at(-2)]
      const at = first !== undefined && closing !== undefined ? referencePath(loaded.nodes[first], closing) : undefined
      if (first !== undefined && at !== undefined) {
        position = loaded.locator.locate(['nodes', first, ...at])
        field = formatField(at)
      }
      message = `cycle: ${cycle.join(' -> ')}`
      return { message, position, ...(first === undefined ? {} : { nodeId: first }), ...(field === undefined ? {} : { field }), hint: 'a node cannot depend on itself, directly or through others' }
    }
    case 'GRAPH_DUPLICATE_ID':
      return { message: `duplicate node id "${nodeId}"`, position, ...(nodeId === undefined ? {} : { nodeId }) }
    case 'NODE_UNKNOWN_TYPE': {
      const type = nodeKnown ? (loaded.nodes[nodeId] as { type?: unknown } | undefined)?.type : undefined
      const plugin = typeof type === 'string' ? suggestPluginFor(type) : undefined
      if (plugin !== undefined && suggestion === undefined) hint = `"${String(type)}" comes from ${plugin}: install it (npm install --save-dev ${plugin}) and list it under plugins:`
      if (type === undefined) message = 'missing node type'
      break
    }
    case 'PLUGIN_ERROR':
      message = error.message
      break
    default:
      break
  }
  return {
    message,
    ...(position ? { position } : {}),
    ...(nodeId === undefined ? {} : { nodeId }),
    ...(field === undefined ? {} : { field }),
    ...(error.expected === undefined ? {} : { expected: error.expected }),
    ...(error.received === undefined ? {} : { received: error.received }),
    ...(hint === undefined ? {} : { hint }),
  }
}

/** Core's graph errors (one, or a `GraphValidationError` listing many) as a located `ConfigError`. */
export function toConfigError(error: unknown, loaded: Pick<LoadedConfig, 'locator' | 'nodes'>): ConfigError | undefined {
  if (!isCoreError(error)) return undefined
  // A plugin that rejects its node's config while compiling (e.g. a Dockerfile that mounts an ssh agent the node does
  // not allow) throws a config error, which the host wraps in PLUGIN_ERROR: it is still the user's config at fault.
  const unwrapped = isCoreError(error, 'PLUGIN_ERROR') && isCoreError(error.cause) && isConfigCode(error.cause) ? error.cause : error
  const errors = isCoreError(unwrapped, 'GRAPH_INVALID') && 'errors' in unwrapped ? (unwrapped as CoreError & { errors: readonly CoreError[] }).errors : [unwrapped]
  if (!errors.every(isConfigCode)) return undefined
  return new ConfigError(errors.map((item) => diagnosticFor(item, loaded)), { cause: error })
}

function isConfigCode(error: CoreError): boolean {
  return error.code.startsWith('GRAPH_') || error.code.startsWith('NODE_INVALID') || error.code === 'NODE_UNKNOWN_TYPE' || error.code === 'CONFIG_INVALID' || error.code === 'PLUGIN_INVALID' || error.code === 'PLUGIN_DUPLICATE_KIND'
}

function isUnknownField(error: CoreError): boolean {
  return error.details.issue === 'unrecognized_keys'
}

/** `mounts./src`, `exclude.1`: the dotted form used in messages. */
export function formatField(path: ConfigPath): string {
  return path.map(String).join('.')
}

/** Where in a raw node entry a string refers to `target` (`target` or `target.output`, or in `after:`). */
function referencePath(entry: unknown, target: string): ConfigPath | undefined {
  const visit = (value: unknown, path: (string | number)[]): ConfigPath | undefined => {
    if (typeof value === 'string') return value === target || value.startsWith(`${target}.`) ? path : undefined
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) {
        const found = visit(item, [...path, index])
        if (found) return found
      }
    } else if (isPlainObject(value)) {
      for (const [key, item] of Object.entries(value)) {
        if (path.length === 0 && key === 'type') continue
        const found = visit(item, [...path, key])
        if (found) return found
      }
    }
    return undefined
  }
  return visit(entry, [])
}

function writtenPrefix(entry: unknown, path: ConfigPath): ConfigPath {
  let current: unknown = entry
  const kept: (string | number)[] = []
  for (const segment of path) {
    if (Array.isArray(current) && typeof segment === 'number' && segment < current.length) current = current[segment]
    else if (isPlainObject(current) && Object.hasOwn(current, String(segment))) current = current[String(segment)]
    else if (kept.length === path.length - 1 || current === null || typeof current !== 'object') {
      // The last segment may be a field the user left out ("missing field"): keep it so the message names it.
      if (current !== null && typeof current === 'object') kept.push(segment)
      break
    } else break
    kept.push(segment)
  }
  return kept
}
