import type { z } from 'zod'
import type { NodeEntry, ParamDeclaration, PipelineConfig, SecretDeclaration } from './config.js'
import { CoreError } from './errors.js'
import { formatPath } from './format.js'
import type { NodeType, OutputKinds } from './node-type.js'
import type { Plugin } from './plugin.js'
import { DEFAULT_OUTPUT } from './reference.js'

const NODE_HANDLE: unique symbol = Symbol.for('kiln.core.node-handle') as never

/**
 * A node in kiln.ts: what a node factory returns. Pass it (or `handle.output(name)`) wherever a config takes a
 * reference; `resolveConfig` gives it the id it has in the returned nodes and turns references into strings.
 */
export interface NodeHandle {
  readonly type: string
  /** The node type's fields, as written (handles included). */
  readonly config: Readonly<Record<string, unknown>>
  readonly after: readonly (NodeHandle | string)[]
  /** A reference to one of the node's named outputs (`build.output('bin')` is `"build.bin"` in YAML). */
  output(name: string): OutputHandle
}

/** A reference to a named output of a node in kiln.ts. */
export interface OutputHandle {
  readonly node: NodeHandle
  readonly output: string
}

/** The config a node factory takes: the node type's input, plus `after`. */
export type NodeInput<S extends z.ZodType> = z.input<S> & { readonly after?: readonly (NodeHandle | string)[] }

/** Tells whether a value is a {@link NodeHandle}. */
export function isNodeHandle(value: unknown): value is NodeHandle {
  return typeof value === 'object' && value !== null && (value as { [NODE_HANDLE]?: unknown })[NODE_HANDLE] === true
}

function isOutputHandle(value: unknown): value is OutputHandle {
  return typeof value === 'object' && value !== null && isNodeHandle((value as { node?: unknown }).node) && typeof (value as { output?: unknown }).output === 'string'
}

/**
 * Creates a node handle of any type, without a typed factory (for node types a plugin does not export one for).
 */
export function createNode(type: string, config: Readonly<Record<string, unknown>> & { readonly after?: readonly (NodeHandle | string)[] } = {}): NodeHandle {
  const { after, ...fields } = config
  const handle: NodeHandle = {
    type,
    config: fields,
    after: [...(after ?? [])],
    output: (name: string): OutputHandle => ({ node: handle, output: name }),
  }
  Object.defineProperty(handle, NODE_HANDLE, { value: true })
  return Object.freeze(handle)
}

/**
 * Turns a node type into a typed factory for kiln.ts. Plugins export one per node type next to the plugin.
 *
 * @example
 * ```ts
 * export const chmod = createNodeFactory(chmodType)
 * // kiln.ts
 * const tools = chmod({ from: src, paths: ['bin/tool'] })
 * ```
 */
export function createNodeFactory<S extends z.ZodType, O extends OutputKinds>(nodeType: NodeType<S, O>): (config: NodeInput<S>) => NodeHandle {
  return (config) => createNode(nodeType.kind, config as Readonly<Record<string, unknown>>)
}

/** What a kiln.ts function receives. */
export interface ConfigContext {
  /** `params.NAME` is the expression `${{ params.NAME }}`, resolved by `buildGraph` like in YAML. */
  readonly params: Readonly<Record<string, string>>
}

/** Nodes in kiln.ts: handles by id, or YAML-style entries. */
export type NodesInput = Readonly<Record<string, NodeHandle | NodeEntry>>

/** A kiln.ts config in object form. */
export interface ConfigInput {
  readonly plugins?: readonly (string | Plugin)[]
  readonly params?: Readonly<Record<string, ParamDeclaration>>
  readonly secrets?: Readonly<Record<string, SecretDeclaration>>
  readonly nodes: NodesInput | ((context: ConfigContext) => NodesInput | Promise<NodesInput>)
}

/** What kiln.ts default-exports: a config object, or a function returning nodes (or a config object). */
export type ConfigDefinition = ConfigInput | ((context: ConfigContext) => ConfigInput | NodesInput | Promise<ConfigInput | NodesInput>)

/**
 * Declares a kiln.ts config (identity, for type inference). The CLI loads it with {@link resolveConfig} into the
 * same {@link PipelineConfig} a kiln.yaml parses to.
 *
 * @example
 * ```ts
 * export default defineConfig(({ params }) => {
 *   const src = local({ path: '.', exclude: ['**\/*.log'] })
 *   const build = run({ from: 'debian:bookworm', mounts: { '/src': src }, script: 'make build', outputs: { bin: '/src/out' } })
 *   const test = run({ from: 'debian:bookworm', mounts: { '/src': src, '/src/out': build.output('bin') }, script: 'make test' })
 *   return { src, build, test, tag: createNode('value', { value: params.version }) }
 * })
 * ```
 */
export function defineConfig<const D extends ConfigDefinition>(definition: D): D {
  return definition
}

const paramsProxy: Readonly<Record<string, string>> = new Proxy(
  {},
  { get: (_target, name) => (typeof name === 'string' ? `\${{ params.${name} }}` : undefined) },
)

function isConfigInput(value: unknown): value is ConfigInput {
  if (typeof value !== 'object' || value === null || !('nodes' in value)) return false
  const nodes = (value as { nodes: unknown }).nodes
  return typeof nodes === 'function' || (typeof nodes === 'object' && nodes !== null && !isNodeHandle(nodes) && !('type' in nodes && typeof (nodes as { type: unknown }).type === 'string'))
}

/**
 * Resolves a kiln.ts definition into the pure data model: calls the function forms, gives every handle the id it
 * has in the returned nodes (a handle used but not returned gets its type as id, suffixed `-2`, `-3` on clashes),
 * and replaces handles with `"id"` / `"id.output"` strings and `after` handles with ids.
 */
export async function resolveConfig(definition: ConfigDefinition): Promise<PipelineConfig> {
  const context: ConfigContext = { params: paramsProxy }
  const result = typeof definition === 'function' ? await definition(context) : definition
  const input: ConfigInput = isConfigInput(result) ? result : { nodes: result as NodesInput }
  const nodesInput = typeof input.nodes === 'function' ? await input.nodes(context) : input.nodes
  if (typeof nodesInput !== 'object' || nodesInput === null) {
    throw new CoreError('CONFIG_INVALID', `Invalid kiln.ts config: expected nodes to be an object of node handles, received ${nodesInput === null ? 'null' : typeof nodesInput}`, { path: ['nodes'], expected: 'an object of node handles', received: String(nodesInput) })
  }

  const ids = new Map<NodeHandle, string>()
  const taken = new Set(Object.keys(nodesInput))
  for (const [id, entry] of Object.entries(nodesInput)) if (isNodeHandle(entry) && !ids.has(entry)) ids.set(entry, id)
  const pending: NodeHandle[] = []
  const idOf = (handle: NodeHandle): string => {
    const known = ids.get(handle)
    if (known !== undefined) return known
    const base = handle.type.replace(/[^A-Za-z0-9_-]/g, '-').replace(/^[^A-Za-z_]/, '_')
    let id = base
    for (let suffix = 2; taken.has(id); suffix++) id = `${base}-${suffix}`
    taken.add(id)
    ids.set(handle, id)
    pending.push(handle)
    return id
  }
  const serialise = (value: unknown, path: (string | number)[], owner: string): unknown => {
    if (isNodeHandle(value)) return idOf(value)
    if (isOutputHandle(value)) return value.output === DEFAULT_OUTPUT ? idOf(value.node) : `${idOf(value.node)}.${value.output}`
    if (Array.isArray(value)) return value.map((item, index) => serialise(item, [...path, index], owner))
    if (typeof value === 'object' && value !== null) {
      const prototype = Object.getPrototypeOf(value) as unknown
      if (prototype !== Object.prototype && prototype !== null) {
        throw new CoreError('CONFIG_INVALID', `Node "${owner}" has a non-plain object at ${formatPath(path)}: expected plain data or node handles, received ${(value as object).constructor?.name ?? 'object'}`, { nodeId: owner, path, expected: 'plain data or node handles', received: (value as object).constructor?.name ?? 'object' })
      }
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, serialise(item, [...path, key], owner)]))
    }
    return value
  }
  const entryOf = (id: string, handle: NodeHandle): NodeEntry => {
    const after = handle.after.map((item) => (typeof item === 'string' ? item : idOf(item)))
    return { type: handle.type, ...(after.length > 0 ? { after } : {}), ...(serialise(handle.config, [], id) as Record<string, unknown>) }
  }
  const nodes: Record<string, NodeEntry> = {}
  for (const [id, entry] of Object.entries(nodesInput)) {
    nodes[id] = isNodeHandle(entry) ? entryOf(id, entry) : (serialise(entry, [], id) as NodeEntry)
  }
  while (pending.length > 0) {
    const handle = pending.shift() as NodeHandle
    const id = ids.get(handle) as string
    nodes[id] = entryOf(id, handle)
  }
  return {
    ...(input.plugins === undefined ? {} : { plugins: input.plugins }),
    ...(input.params === undefined ? {} : { params: input.params }),
    ...(input.secrets === undefined ? {} : { secrets: input.secrets }),
    nodes,
  }
}
