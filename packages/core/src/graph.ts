import type { z } from 'zod'
import { describeKind, isKindAssignable } from './artifacts.js'
import type { NodeEntry, ParamDeclaration, PipelineConfig } from './config.js'
import { CoreError, GraphError, GraphValidationError, NodeConfigError, PluginError } from './errors.js'
import type { ConfigPath } from './errors.js'
import { closest, describeValue, formatPath, oneOf } from './format.js'
import { DEFAULT_OUTPUTS } from './node-type.js'
import type { OutputKinds, ParamValue, Phase } from './node-type.js'
import type { PluginMeta, Registry } from './plugin.js'
import { findReferences, ID_PATTERN } from './reference.js'
import type { ReferenceSite, SecretSite } from './reference.js'

/** One node as declared, before validation: what {@link createGraph} takes. */
export interface NodeDeclaration {
  readonly id: string
  readonly type: string
  readonly after?: readonly string[]
  /** The node type's fields (everything but `type` and `after`). */
  readonly config: unknown
}

/** A validated node of a {@link Graph}. */
export interface GraphNode {
  readonly id: string
  readonly type: string
  /** The config as parsed by the node type's schema (references are `Reference` objects). */
  readonly config: unknown
  /** The config as declared (after param interpolation). */
  readonly input: unknown
  readonly after: readonly string[]
  /** The outputs the node type declared for this config. */
  readonly outputs: OutputKinds
  readonly phase: Phase
  /** Every reference in the config, in document order. */
  readonly references: readonly ReferenceSite[]
  /** Every secret named in the config. */
  readonly secrets: readonly SecretSite[]
  /** The plugin that registered the node's type. */
  readonly plugin: PluginMeta
  /** Position in the declaration order. */
  readonly index: number
}

/** An edge from a dependency (`from`) to the node that needs it (`to`). */
export interface GraphEdge {
  readonly from: string
  readonly to: string
  /** `reference`: `to`'s config takes an output of `from`; `after`: ordering only. */
  readonly type: 'reference' | 'after'
  /** For references: the output taken. */
  readonly output?: string
  /** Where in `to`'s config (`['after', 0]` for ordering edges). */
  readonly path: ConfigPath
}

/**
 * A validated, cycle-free DAG. Nodes keep declaration order; `order` is a topological order where ties keep
 * declaration order; `levels` groups nodes that can run in parallel (level 0 has no dependencies).
 */
export interface Graph {
  readonly nodes: readonly GraphNode[]
  readonly edges: readonly GraphEdge[]
  readonly order: readonly string[]
  readonly levels: readonly (readonly string[])[]
  /** Resolved params: declared defaults overridden by the values given. */
  readonly params: Readonly<Record<string, ParamValue>>
  /** Declared secret names, or `undefined` when the config declared none and secret names were not checked. */
  readonly secrets?: readonly string[]
  node(id: string): GraphNode | undefined
  /** Direct dependencies of a node (references and `after`), in declaration order. */
  dependencies(id: string): readonly string[]
  /** Nodes that directly depend on a node, in declaration order. */
  dependents(id: string): readonly string[]
  /** Every node a node transitively depends on, in topological order. */
  upstream(id: string): readonly string[]
}

/** Options of {@link createGraph} and {@link buildGraph}. */
export interface GraphOptions {
  /** Param values (`--set`), overriding declared defaults. */
  readonly params?: Readonly<Record<string, ParamValue>>
  /** Declared params; given by `buildGraph` from the config. Without it, params are not checked. */
  readonly paramDeclarations?: Readonly<Record<string, ParamDeclaration>>
  /** Declared secret names. Without it, secret names are not checked. */
  readonly secrets?: readonly string[]
}

/**
 * Builds and validates the graph of a {@link PipelineConfig}: interpolates `${{ params.NAME }}`, parses every node's
 * config with its type's schema, finds references, checks them, and orders the nodes. Collects every error and
 * throws them together as a {@link GraphValidationError}.
 *
 * @example
 * ```ts
 * const registry = createRegistry([std()])
 * const graph = buildGraph({ nodes: { src: { type: 'local', path: '.' }, build: { type: 'run', mounts: { '/src': 'src' } } } }, registry)
 * graph.order // ['src', 'build']
 * ```
 */
export function buildGraph(config: PipelineConfig, registry: Registry, options: Omit<GraphOptions, 'paramDeclarations'> = {}): Graph {
  if (typeof config !== 'object' || config === null || typeof config.nodes !== 'object' || config.nodes === null || Array.isArray(config.nodes)) {
    const received = typeof config === 'object' && config !== null ? describeValue((config as { nodes?: unknown }).nodes) : describeValue(config)
    throw new CoreError('CONFIG_INVALID', `Invalid config: expected "nodes" to be a mapping of node ids to nodes, received ${received}`, {
      path: ['nodes'],
      expected: 'a mapping of node ids to nodes',
      received,
    })
  }
  const declarations: NodeDeclaration[] = []
  const errors: CoreError[] = []
  for (const [id, entry] of Object.entries(config.nodes)) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      errors.push(new NodeConfigError('NODE_INVALID_CONFIG', `Node "${id}" has invalid config at (root): expected a mapping with a "type", received ${describeValue(entry)}`, { nodeId: id, path: [], expected: 'a mapping with a "type"', received: describeValue(entry) }))
      continue
    }
    const { type, after, ...rest } = entry as NodeEntry
    declarations.push({ id, type, ...(after === undefined ? {} : { after }), config: rest })
  }
  const secrets = config.secrets === undefined ? options.secrets : Object.keys(config.secrets)
  return createGraphCollecting(declarations, registry, { ...options, paramDeclarations: config.params ?? {}, ...(secrets === undefined ? {} : { secrets }) }, errors)
}

/**
 * Builds and validates a graph from node declarations (the lower level of {@link buildGraph}, which can express
 * duplicate ids). Throws a {@link GraphValidationError} listing every error.
 */
export function createGraph(declarations: readonly NodeDeclaration[], registry: Registry, options: GraphOptions = {}): Graph {
  return createGraphCollecting(declarations, registry, options, [])
}

interface Draft {
  readonly declaration: NodeDeclaration
  readonly index: number
  node?: GraphNode
}

function createGraphCollecting(declarations: readonly NodeDeclaration[], registry: Registry, options: GraphOptions, errors: CoreError[]): Graph {
  const params = resolveParams(options, errors)
  const drafts = new Map<string, Draft>()
  const kinds = registry.kinds()

  declarations.forEach((declaration, index) => {
    const { id } = declaration
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
      const received = describeValue(id)
      errors.push(new GraphError('GRAPH_INVALID_ID', `Invalid node id ${received}: expected letters, digits, "_" or "-", starting with a letter or "_"`, { nodeId: String(id), expected: 'letters, digits, "_" or "-", starting with a letter or "_"', received }))
      return
    }
    const first = drafts.get(id)
    if (first !== undefined) {
      errors.push(new GraphError('GRAPH_DUPLICATE_ID', `Duplicate node id "${id}": expected each id once, received it at positions ${first.index + 1} and ${index + 1}`, { nodeId: id, expected: 'unique node ids', received: `"${id}" twice`, positions: [first.index, index] }))
      return
    }
    const draft: Draft = { declaration, index }
    drafts.set(id, draft)

    const input = options.paramDeclarations === undefined && options.params === undefined ? declaration.config : interpolate(declaration.config, params, id, errors)
    const after = declaration.after ?? []
    let afterValid = true
    if (!Array.isArray(after) || !after.every((item) => typeof item === 'string')) {
      afterValid = false
      const received = describeValue(after)
      errors.push(new NodeConfigError('NODE_INVALID_CONFIG', `Node "${id}" has invalid config at after: expected a list of node ids, received ${received}`, { nodeId: id, path: ['after'], expected: 'a list of node ids', received }))
    }

    const registered = typeof declaration.type === 'string' ? registry.get(declaration.type) : undefined
    if (registered === undefined) {
      const received = describeValue(declaration.type)
      const suggestion = typeof declaration.type === 'string' ? closest(declaration.type, kinds) : undefined
      const hint = suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`
      const what = declaration.type === undefined ? 'has no type' : `has unknown type ${received}`
      errors.push(new NodeConfigError('NODE_UNKNOWN_TYPE', `Node "${id}" ${what}: expected ${oneOf(kinds)}${hint}`, { nodeId: id, path: ['type'], expected: oneOf(kinds), received, known: kinds, ...(suggestion === undefined ? {} : { suggestion }) }))
      return
    }
    const { nodeType, plugin } = registered
    const parsed = nodeType.schema.safeParse(input)
    if (!parsed.success) {
      for (const issue of parsed.error.issues) errors.push(configError(id, issue, input))
      return
    }
    const config = parsed.data
    let outputs: OutputKinds
    let phase: Phase
    try {
      outputs = nodeType.outputs === undefined ? DEFAULT_OUTPUTS : typeof nodeType.outputs === 'function' ? nodeType.outputs(config) : nodeType.outputs
    } catch (error) {
      errors.push(new PluginError({ plugin: plugin.name, hook: 'outputs', nodeId: id, cause: error }))
      return
    }
    try {
      phase = nodeType.phase === undefined ? 'build' : typeof nodeType.phase === 'function' ? nodeType.phase(config) : nodeType.phase
    } catch (error) {
      errors.push(new PluginError({ plugin: plugin.name, hook: 'phase', nodeId: id, cause: error }))
      return
    }
    const found = findReferences(config)
    draft.node = {
      id,
      type: nodeType.kind,
      config,
      input,
      after: afterValid ? [...after] : [],
      outputs,
      phase,
      references: found.references,
      secrets: found.secrets,
      plugin,
      index,
    }
  })

  // References, `after` and secrets, once every node's outputs are known.
  const ids = [...drafts.keys()]
  const edges: GraphEdge[] = []
  for (const draft of drafts.values()) {
    const node = draft.node
    if (node === undefined) continue
    for (const { path, reference } of node.references) {
      const target = drafts.get(reference.node)
      const at = formatPath(path)
      const text = reference.output === 'default' ? `"${reference.node}"` : `"${reference.node}.${reference.output}"`
      if (target === undefined) {
        const suggestion = closest(reference.node, ids.filter((other) => other !== node.id))
        const hint = suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`
        errors.push(new GraphError('GRAPH_DANGLING_REFERENCE', `Node "${node.id}" references unknown node "${reference.node}" at ${at}: expected ${oneOf(ids.filter((other) => other !== node.id))}${hint}`, { nodeId: node.id, path, expected: oneOf(ids.filter((other) => other !== node.id)), received: `"${reference.node}"`, reference: reference.node, ...(suggestion === undefined ? {} : { suggestion }) }))
        continue
      }
      edges.push({ from: reference.node, to: node.id, type: 'reference', output: reference.output, path })
      if (target.node === undefined) continue // its own errors are reported; do not cascade
      const provided = target.node.outputs[reference.output]
      if (provided === undefined) {
        const names = Object.keys(target.node.outputs)
        errors.push(new GraphError('GRAPH_UNKNOWN_OUTPUT', `Node "${node.id}" references unknown output "${reference.output}" of node "${reference.node}" at ${at}: expected ${oneOf(names)}`, { nodeId: node.id, path, expected: oneOf(names), received: `"${reference.output}"`, reference: reference.node, output: reference.output }))
        continue
      }
      if (reference.accepts.length > 0 && !reference.accepts.some((kind) => isKindAssignable(provided, kind))) {
        const expected = reference.accepts.map(describeKind).join(' or ')
        errors.push(new GraphError('GRAPH_KIND_MISMATCH', `Node "${node.id}" references ${text} at ${at}: expected ${expected}, received ${describeKind(provided)}`, { nodeId: node.id, path, expected, received: describeKind(provided), reference: reference.node, output: reference.output }))
      }
    }
    node.after.forEach((other, position) => {
      if (drafts.has(other)) {
        edges.push({ from: other, to: node.id, type: 'after', path: ['after', position] })
        return
      }
      const candidates = ids.filter((id) => id !== node.id)
      const suggestion = closest(other, candidates)
      const hint = suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`
      errors.push(new GraphError('GRAPH_DANGLING_REFERENCE', `Node "${node.id}" references unknown node "${other}" at after[${position}]: expected ${oneOf(candidates)}${hint}`, { nodeId: node.id, path: ['after', position], expected: oneOf(candidates), received: `"${other}"`, reference: other, ...(suggestion === undefined ? {} : { suggestion }) }))
    })
    if (options.secrets !== undefined) {
      for (const { path, name } of node.secrets) {
        if (options.secrets.includes(name)) continue
        const suggestion = closest(name, options.secrets)
        const hint = suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`
        errors.push(new GraphError('GRAPH_UNKNOWN_SECRET', `Node "${node.id}" uses undeclared secret "${name}" at ${formatPath(path)}: expected ${oneOf(options.secrets)}${hint}`, { nodeId: node.id, path, expected: oneOf(options.secrets), received: `"${name}"`, ...(suggestion === undefined ? {} : { suggestion }) }))
      }
    }
  }

  const order = [...drafts.values()].sort((a, b) => a.index - b.index).map((draft) => draft.declaration.id)
  const dependencies = adjacency(order, edges, 'in')
  for (const cycle of findCycles(order, dependencies)) {
    errors.push(new GraphError('GRAPH_CYCLE', `Cycle: ${cycle.join(' -> ')}`, { nodeId: cycle[0], nodes: cycle, expected: 'a graph without cycles', received: `a cycle through ${cycle.length - 1} node${cycle.length === 2 ? '' : 's'}` }))
  }

  if (errors.length > 0) throw new GraphValidationError(errors)
  const nodes = order.map((id) => drafts.get(id)?.node as GraphNode)
  return finishGraph(nodes, edges, params, options.secrets)
}

function finishGraph(nodes: readonly GraphNode[], edges: readonly GraphEdge[], params: Readonly<Record<string, ParamValue>>, secrets: readonly string[] | undefined): Graph {
  const ids = nodes.map((node) => node.id)
  const byId = new Map(nodes.map((node) => [node.id, node]))
  const dependencies = adjacency(ids, edges, 'in')
  const dependents = adjacency(ids, edges, 'out')
  const { order, levels } = topologicalOrder(ids, dependencies, dependents)
  const position = new Map(order.map((id, index) => [id, index]))
  const upstreamCache = new Map<string, readonly string[]>()
  const upstream = (id: string): readonly string[] => {
    const cached = upstreamCache.get(id)
    if (cached !== undefined) return cached
    const seen = new Set<string>()
    const stack = [...(dependencies.get(id) ?? [])]
    while (stack.length > 0) {
      const next = stack.pop() as string
      if (seen.has(next)) continue
      seen.add(next)
      stack.push(...(dependencies.get(next) ?? []))
    }
    const result = [...seen].sort((a, b) => (position.get(a) as number) - (position.get(b) as number))
    upstreamCache.set(id, result)
    return result
  }
  return {
    nodes,
    edges,
    order,
    levels,
    params,
    ...(secrets === undefined ? {} : { secrets }),
    node: (id) => byId.get(id),
    dependencies: (id) => dependencies.get(id) ?? [],
    dependents: (id) => dependents.get(id) ?? [],
    upstream,
  }
}

/** Direct neighbours per node, deduplicated, in declaration order. */
function adjacency(ids: readonly string[], edges: readonly GraphEdge[], direction: 'in' | 'out'): Map<string, string[]> {
  const index = new Map(ids.map((id, position) => [id, position]))
  const result = new Map<string, string[]>(ids.map((id) => [id, []]))
  for (const edge of edges) {
    const [key, other] = direction === 'in' ? [edge.to, edge.from] : [edge.from, edge.to]
    const list = result.get(key)
    if (list !== undefined && index.has(other) && !list.includes(other)) list.push(other)
  }
  for (const list of result.values()) list.sort((a, b) => (index.get(a) as number) - (index.get(b) as number))
  return result
}

/**
 * Kahn's algorithm where the ready node declared first goes first, so the order is stable; a node's level is one
 * more than its deepest dependency's.
 */
function topologicalOrder(ids: readonly string[], dependencies: Map<string, string[]>, dependents: Map<string, string[]>): { order: string[]; levels: string[][] } {
  const index = new Map(ids.map((id, position) => [id, position]))
  const remaining = new Map(ids.map((id) => [id, dependencies.get(id)?.length ?? 0]))
  const level = new Map<string, number>()
  const ready = ids.filter((id) => remaining.get(id) === 0)
  const order: string[] = []
  while (ready.length > 0) {
    ready.sort((a, b) => (index.get(a) as number) - (index.get(b) as number))
    const next = ready.shift() as string
    order.push(next)
    level.set(next, Math.max(-1, ...(dependencies.get(next) ?? []).map((id) => level.get(id) as number)) + 1)
    for (const dependent of dependents.get(next) ?? []) {
      const count = (remaining.get(dependent) as number) - 1
      remaining.set(dependent, count)
      if (count === 0) ready.push(dependent)
    }
  }
  const levels: string[][] = []
  for (const id of ids) {
    const depth = level.get(id) as number
    ;(levels[depth] ??= []).push(id)
  }
  return { order, levels }
}

/**
 * One cycle per strongly connected component (Tarjan), as a path that starts and ends at the component's
 * first-declared node: `["a", "b", "a"]`. Components are reported in declaration order of that node.
 */
function findCycles(ids: readonly string[], dependencies: Map<string, string[]>): string[][] {
  // Walk edges in the dependency -> dependent direction so a cycle reads the way data flows.
  const dependents = new Map<string, string[]>(ids.map((id) => [id, []]))
  for (const id of ids) for (const dependency of dependencies.get(id) ?? []) dependents.get(dependency)?.push(id)
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const onStack = new Set<string>()
  const stack: string[] = []
  const components: string[][] = []
  let counter = 0
  const connect = (id: string): void => {
    index.set(id, counter)
    low.set(id, counter)
    counter++
    stack.push(id)
    onStack.add(id)
    for (const next of dependents.get(id) ?? []) {
      if (!index.has(next)) {
        connect(next)
        low.set(id, Math.min(low.get(id) as number, low.get(next) as number))
      } else if (onStack.has(next)) {
        low.set(id, Math.min(low.get(id) as number, index.get(next) as number))
      }
    }
    if (low.get(id) === index.get(id)) {
      const component: string[] = []
      let member: string
      do {
        member = stack.pop() as string
        onStack.delete(member)
        component.push(member)
      } while (member !== id)
      components.push(component)
    }
  }
  for (const id of ids) if (!index.has(id)) connect(id)

  const position = new Map(ids.map((id, order) => [id, order]))
  const cycles: string[][] = []
  for (const component of components) {
    const members = new Set(component)
    const start = component.reduce((a, b) => ((position.get(a) as number) <= (position.get(b) as number) ? a : b))
    const selfLoop = (dependents.get(start) ?? []).includes(start)
    if (component.length === 1 && !selfLoop) continue
    if (selfLoop) {
      cycles.push([start, start])
      continue
    }
    // Shortest way back to `start` inside the component (breadth first, neighbours in declaration order).
    const previous = new Map<string, string>()
    const queue = [start]
    let found = false
    while (queue.length > 0 && !found) {
      const current = queue.shift() as string
      for (const next of dependents.get(current) ?? []) {
        if (!members.has(next)) continue
        if (next === start) {
          previous.set(start, current)
          found = true
          break
        }
        if (previous.has(next)) continue
        previous.set(next, current)
        queue.push(next)
      }
    }
    const path = [start]
    let cursor = previous.get(start) as string
    while (cursor !== start) {
      path.push(cursor)
      cursor = previous.get(cursor) as string
    }
    path.push(start)
    // `path` was collected backwards from the closing edge: start, last, …, first, start.
    cycles.push([start, ...path.slice(1, -1).reverse(), start])
  }
  return cycles.sort((a, b) => (position.get(a[0] as string) as number) - (position.get(b[0] as string) as number))
}

function resolveParams(options: GraphOptions, errors: CoreError[]): Record<string, ParamValue> {
  const resolved: Record<string, ParamValue> = {}
  const declarations = options.paramDeclarations
  const given = options.params ?? {}
  if (declarations === undefined) return { ...given }
  for (const [name, declaration] of Object.entries(declarations)) {
    const fallback = typeof declaration === 'object' && declaration !== null ? declaration.default : declaration
    const value = given[name] ?? fallback
    if (value === undefined) {
      errors.push(new GraphError('GRAPH_MISSING_PARAM', `Param "${name}" has no value: expected a value (--set ${name}=…) or a default, received none`, { param: name, expected: 'a value or a default', received: 'none' }))
      continue
    }
    resolved[name] = value
  }
  for (const name of Object.keys(given)) {
    if (name in declarations) continue
    const names = Object.keys(declarations)
    const suggestion = closest(name, names)
    const hint = suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`
    errors.push(new GraphError('GRAPH_UNKNOWN_PARAM', `Unknown param "${name}": expected ${oneOf(names)}${hint}`, { param: name, expected: oneOf(names), received: `"${name}"` }))
  }
  return resolved
}

const EXPRESSION = /\$\{\{\s*params\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}/g
const WHOLE_EXPRESSION = /^\$\{\{\s*params\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}$/

/**
 * Replaces `${{ params.NAME }}` in every string of a config. A string that is only the expression takes the param's
 * value with its type (a number stays a number); otherwise the value is spliced into the text.
 */
function interpolate(value: unknown, params: Readonly<Record<string, ParamValue>>, nodeId: string, errors: CoreError[], path: (string | number)[] = []): unknown {
  if (typeof value === 'string') {
    const unknown = (name: string): void => {
      const names = Object.keys(params)
      errors.push(new GraphError('GRAPH_UNKNOWN_PARAM', `Node "${nodeId}" uses unknown param "${name}" at ${formatPath(path)}: expected ${oneOf(names)}`, { nodeId, path, param: name, expected: oneOf(names), received: `"${name}"` }))
    }
    const whole = WHOLE_EXPRESSION.exec(value)
    if (whole !== null) {
      const name = whole[1] as string
      if (name in params) return params[name]
      unknown(name)
      return value
    }
    return value.replace(EXPRESSION, (expression, name: string) => {
      if (name in params) return String(params[name])
      unknown(name)
      return expression
    })
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, params, nodeId, errors, [...path, index]))
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, params, nodeId, errors, [...path, key])]))
  }
  return value
}

/** A zod issue as a `NODE_INVALID_CONFIG` error with path, expected and received. */
function configError(nodeId: string, issue: z.core.$ZodIssue, input: unknown): CoreError {
  const path = issue.path.filter((key): key is string | number => typeof key !== 'symbol')
  const { expected, received, at } = describeIssue(issue, path, input)
  return new NodeConfigError('NODE_INVALID_CONFIG', `Node "${nodeId}" has invalid config at ${formatPath(at)}: expected ${expected}, received ${received}`, { nodeId, path: at, expected, received, issue: issue.code })
}

function valueAt(input: unknown, path: readonly (string | number)[]): { found: boolean; value: unknown } {
  let current: unknown = input
  for (const key of path) {
    if (typeof current !== 'object' || current === null || !(key in current)) return { found: false, value: undefined }
    current = (current as Record<string | number, unknown>)[key]
  }
  return { found: true, value: current }
}

function describeIssue(issue: z.core.$ZodIssue, path: (string | number)[], input: unknown): { expected: string; received: string; at: (string | number)[] } {
  const { found, value } = valueAt(input, path)
  const received = found ? describeValue(value) : 'nothing (the field is missing)'
  switch (issue.code) {
    case 'invalid_type':
      return { expected: issue.expected, received, at: path }
    case 'invalid_value':
      return { expected: issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((item) => JSON.stringify(item)).join(', ')}`, received, at: path }
    case 'unrecognized_keys': {
      const key = issue.keys[0] as string
      const more = issue.keys.length > 1 ? ` (and ${issue.keys.slice(1).map((item) => JSON.stringify(item)).join(', ')})` : ''
      return { expected: 'a known field', received: `unknown field ${JSON.stringify(key)}${more}`, at: [...path, key] }
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum
      const word = issue.code === 'too_small' ? 'at least' : 'at most'
      const strict = issue.inclusive === false
      if (issue.origin === 'array' || issue.origin === 'set') {
        const count = Array.isArray(value) ? value.length : value instanceof Set ? value.size : undefined
        return { expected: `${word} ${strict ? (issue.code === 'too_small' ? Number(bound) + 1 : Number(bound) - 1) : bound} item(s)`, received: count === undefined ? received : `${count} item(s)`, at: path }
      }
      if (issue.origin === 'string') {
        return { expected: `a string of ${word} ${bound} character(s)`, received: typeof value === 'string' ? `${value.length} character(s)` : received, at: path }
      }
      const operator = issue.code === 'too_small' ? (strict ? '>' : '>=') : strict ? '<' : '<='
      return { expected: `a number ${operator} ${bound}`, received, at: path }
    }
    case 'invalid_format': {
      const expected = issue.format === 'regex' && 'pattern' in issue && typeof issue.pattern === 'string' ? `a string matching ${issue.pattern}` : `a valid ${issue.format}`
      return { expected, received, at: path }
    }
    case 'invalid_union': {
      const alternatives = issue.errors.flatMap((branch) =>
        branch.flatMap((sub) => {
          if (sub.path.length !== 0) return []
          if (sub.code === 'invalid_type') return [sub.expected as string]
          if (sub.code === 'custom' && typeof sub.params?.expected === 'string') return [sub.params.expected]
          return []
        }),
      )
      const unique = [...new Set(alternatives)]
      return { expected: unique.length > 0 ? unique.join(' or ') : 'one of the allowed forms', received, at: path }
    }
    case 'custom': {
      const expected = typeof issue.params?.expected === 'string' ? issue.params.expected : issue.message
      return { expected, received, at: path }
    }
    default:
      return { expected: issue.message, received, at: path }
  }
}
