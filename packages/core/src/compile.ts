import type { Artifact, ArtifactKind, ArtifactOf, SecretArtifact } from './artifacts.js'
import { describeKind, isKindAssignable } from './artifacts.js'
import type { EngineServices } from './engine.js'
import { CoreError, GraphError, PluginError } from './errors.js'
import { formatPath, oneOf } from './format.js'
import type { Graph, GraphNode } from './graph.js'
import type { CompileContext, ParamValue, Phase, ReportDescriptor, Severity, TargetSpec } from './node-type.js'
import { formatMessage } from './node-type.js'
import type { Registry } from './plugin.js'
import type { Reference } from './reference.js'

/** A finding reported by a node type while compiling, or by a policy, or by a content check. */
export interface Finding {
  /** `<kind>/<messageId>` for node types, the policy name for policies. */
  readonly rule: string
  readonly severity: Severity
  readonly message: string
  readonly nodeId?: string
  readonly targetId?: string
  readonly messageId?: string
  readonly data?: Readonly<Record<string, unknown>>
}

/** A node after compile: its output artifacts, the targets it declared, and its findings. */
export interface CompiledNode {
  readonly id: string
  readonly type: string
  readonly phase: Phase
  readonly outputs: Readonly<Record<string, Artifact>>
  readonly targets: readonly TargetSpec[]
  readonly findings: readonly Finding[]
}

/** The result of {@link compileGraph}: the graph and every node compiled, in topological order. */
export interface CompiledGraph {
  readonly graph: Graph
  readonly nodes: ReadonlyMap<string, CompiledNode>
  readonly params: Readonly<Record<string, ParamValue>>
}

/** Options of {@link compileGraph}. */
export interface CompileOptions {
  readonly registry: Registry
  /** Param values; default to the graph's resolved params. */
  readonly params?: Readonly<Record<string, ParamValue>>
  /** Engine services for node types that need them (a Dockerfile frontend). Absent when planning purely. */
  readonly engine?: EngineServices
  /** Compile only these nodes and what they depend on. */
  readonly nodes?: readonly string[]
}

/**
 * Compiles a graph: per node, in topological order, the node type's `compile` turns the parsed config and the
 * inputs' artifacts into output artifacts. Nodes of one level compile concurrently (their hooks are called in
 * topological order). Anything a hook throws becomes a `PluginError` naming the plugin, the hook and the node; an
 * output missing or of the wrong kind is a `PLUGIN_ERROR` too.
 *
 * @example
 * ```ts
 * const compiled = await compileGraph(graph, { registry, params: { version: '1.2.3' } })
 * compiled.nodes.get('build')?.outputs.default // { kind: 'filesystem', state }
 * ```
 */
export async function compileGraph(graph: Graph, options: CompileOptions): Promise<CompiledGraph> {
  const params = { ...graph.params, ...options.params }
  const selected = selection(graph, options.nodes)
  const compiled = new Map<string, CompiledNode>()
  for (const level of graph.levels) {
    const nodes = graph.order.filter((id) => level.includes(id) && selected.has(id)).map((id) => graph.node(id) as GraphNode)
    const results = await Promise.allSettled(nodes.map((node) => compileNode(graph, node, compiled, params, options)))
    for (const result of results) {
      if (result.status === 'rejected') throw result.reason
      compiled.set(result.value.id, result.value)
    }
  }
  const ordered = new Map<string, CompiledNode>()
  for (const id of graph.order) {
    const node = compiled.get(id)
    if (node !== undefined) ordered.set(id, node)
  }
  return { graph, nodes: ordered, params }
}

function selection(graph: Graph, nodes: readonly string[] | undefined): Set<string> {
  if (nodes === undefined) return new Set(graph.order)
  const result = new Set<string>()
  for (const id of nodes) {
    if (graph.node(id) === undefined) {
      throw new GraphError('GRAPH_DANGLING_REFERENCE', `Unknown node "${id}": expected ${oneOf(graph.order as string[])}`, { nodeId: id, expected: oneOf(graph.order as string[]), received: `"${id}"` })
    }
    result.add(id)
    for (const upstream of graph.upstream(id)) result.add(upstream)
  }
  return result
}

async function compileNode(graph: Graph, node: GraphNode, compiled: ReadonlyMap<string, CompiledNode>, params: Readonly<Record<string, ParamValue>>, options: CompileOptions): Promise<CompiledNode> {
  const registered = options.registry.get(node.type)
  if (registered === undefined) {
    const kinds = options.registry.kinds()
    throw new CoreError('NODE_UNKNOWN_TYPE', `Node "${node.id}" has unknown type "${node.type}": expected ${oneOf(kinds)}`, { nodeId: node.id, path: ['type'], expected: oneOf(kinds), received: `"${node.type}"` })
  }
  const { nodeType, plugin } = registered
  const targets: TargetSpec[] = []
  const findings: Finding[] = []
  const context = createCompileContext({
    nodeId: node.id,
    params,
    ...(options.engine === undefined ? {} : { engine: options.engine }),
    ...(graph.secrets === undefined ? {} : { secrets: graph.secrets }),
    messages: nodeType.meta?.messages ?? {},
    rulePrefix: nodeType.kind,
    resolve: (reference) => {
      const artifact = compiled.get(reference.node)?.outputs[reference.output]
      if (artifact === undefined) {
        throw new GraphError('GRAPH_DANGLING_REFERENCE', `Node "${node.id}" asked for "${reference.node}.${reference.output}", which is not among its compiled inputs: expected a reference from its own config`, { nodeId: node.id, expected: 'a reference from the node config', received: `"${reference.node}.${reference.output}"` })
      }
      return artifact
    },
    onTarget: (spec) => targets.push(spec),
    onFinding: (finding) => findings.push(finding),
  })
  let outputs: Readonly<Record<string, Artifact>>
  try {
    outputs = await nodeType.compile({ id: node.id, type: node.type, config: node.config, after: node.after }, context)
  } catch (error) {
    throw new PluginError({ plugin: plugin.name, hook: 'compile', nodeId: node.id, cause: error })
  }
  checkOutputs(node, plugin.name, outputs)
  return { id: node.id, type: node.type, phase: node.phase, outputs, targets, findings }
}

function checkOutputs(node: GraphNode, plugin: string, outputs: unknown): asserts outputs is Readonly<Record<string, Artifact>> {
  const fail = (message: string, expected: string, received: string): never => {
    throw new PluginError({ plugin, hook: 'compile', nodeId: node.id, cause: new CoreError('NODE_INVALID_OUTPUT', message, { nodeId: node.id, expected, received }), message })
  }
  if (typeof outputs !== 'object' || outputs === null) {
    fail(`compile returned ${outputs === null ? 'null' : typeof outputs}: expected an object of output artifacts`, 'an object of output artifacts', String(outputs))
  }
  const record = outputs as Record<string, unknown>
  for (const [name, kind] of Object.entries(node.outputs)) {
    const artifact = record[name] as { kind?: unknown } | undefined
    if (artifact === undefined || artifact === null || typeof artifact !== 'object') {
      fail(`output "${name}" is missing: expected ${describeKind(kind)}, received ${artifact === null ? 'null' : typeof artifact}`, describeKind(kind), String(artifact))
    }
    const received = (artifact as { kind?: unknown }).kind
    if (typeof received !== 'string' || !isKindAssignable(received as ArtifactKind, kind)) {
      const text = typeof received === 'string' ? describeKind(received as ArtifactKind) : String(received)
      fail(`output "${name}" has the wrong kind: expected ${describeKind(kind)}, received ${text}`, describeKind(kind), text)
    }
  }
}

/** What {@link createCompileContext} needs: the host's side of a {@link CompileContext}. */
export interface CompileContextOptions {
  readonly nodeId: string
  readonly params?: Readonly<Record<string, ParamValue>>
  readonly engine?: EngineServices
  /** Declared secret names; without it any name is accepted. */
  readonly secrets?: readonly string[]
  /** The node type's `meta.messages`. */
  readonly messages?: Readonly<Record<string, string>>
  /** Prefix of finding rules (`<kind>/<messageId>`). */
  readonly rulePrefix?: string
  /** Returns the artifact behind a reference. */
  resolve(reference: Reference): Artifact
  onTarget(spec: TargetSpec): void
  onFinding(finding: Finding): void
}

/**
 * Builds a {@link CompileContext}. The compiler uses it for every node; `@kiln/core/testing` uses it with fake
 * inputs. Checks that a resolved input has a kind the reference accepts, and that secrets are declared.
 */
export function createCompileContext(options: CompileContextOptions): CompileContext {
  const { nodeId } = options
  const names = new Set<string>()
  return {
    nodeId,
    params: options.params ?? {},
    ...(options.engine === undefined ? {} : { engine: options.engine }),
    input<K extends ArtifactKind>(reference: Reference<K>): ArtifactOf<K> {
      const artifact = options.resolve(reference)
      if (reference.accepts.length > 0 && !reference.accepts.some((kind) => isKindAssignable(artifact.kind, kind))) {
        const expected = reference.accepts.map(describeKind).join(' or ')
        throw new GraphError('GRAPH_KIND_MISMATCH', `Node "${nodeId}" references "${reference.node}.${reference.output}": expected ${expected}, received ${describeKind(artifact.kind)}`, { nodeId, expected, received: describeKind(artifact.kind) })
      }
      return artifact as ArtifactOf<K>
    },
    secret(name: string | SecretArtifact): SecretArtifact {
      const secretName = typeof name === 'string' ? name : name.name
      if (options.secrets !== undefined && !options.secrets.includes(secretName)) {
        throw new GraphError('GRAPH_UNKNOWN_SECRET', `Node "${nodeId}" uses undeclared secret "${secretName}": expected ${oneOf(options.secrets)}`, { nodeId, expected: oneOf(options.secrets), received: `"${secretName}"` })
      }
      return { kind: 'secret', name: secretName }
    },
    report(descriptor: ReportDescriptor): void {
      options.onFinding(findingFrom(descriptor, options.messages ?? {}, 'warn', { nodeId, rulePrefix: options.rulePrefix ?? nodeId }))
    },
    target(spec: TargetSpec): void {
      const name = spec.name ?? spec.kind
      if (names.has(name)) {
        throw new CoreError('NODE_INVALID_OUTPUT', `Node "${nodeId}" declared target "${name}" twice: expected unique target names (set "name")`, { nodeId, expected: 'unique target names', received: `"${name}" twice` })
      }
      names.add(name)
      options.onTarget(spec)
    },
    requireEngine(): EngineServices {
      if (options.engine !== undefined) return options.engine
      throw new CoreError('NODE_ENGINE_REQUIRED', `Node "${nodeId}" needs engine services to compile: expected an engine, received none (pure planning)`, { nodeId, expected: 'an engine', received: 'none' })
    },
  }
}

/** Turns a reported descriptor into a {@link Finding}, filling the message template. */
export function findingFrom(
  descriptor: ReportDescriptor & { readonly nodeId?: string; readonly targetId?: string },
  messages: Readonly<Record<string, string>>,
  severity: Severity,
  where: { readonly nodeId?: string; readonly rulePrefix: string; readonly rule?: string },
): Finding {
  const template = messages[descriptor.messageId]
  if (template === undefined) {
    throw new CoreError('PLUGIN_INVALID', `Unknown messageId "${descriptor.messageId}": expected ${oneOf(Object.keys(messages))}`, { expected: oneOf(Object.keys(messages)), received: `"${descriptor.messageId}"` })
  }
  const nodeId = descriptor.nodeId ?? where.nodeId
  const at = descriptor.path === undefined ? '' : ` (at ${formatPath(descriptor.path)})`
  return {
    rule: where.rule ?? `${where.rulePrefix}/${descriptor.messageId}`,
    severity: descriptor.severity ?? severity,
    message: formatMessage(template, descriptor.data) + at,
    messageId: descriptor.messageId,
    ...(nodeId === undefined ? {} : { nodeId }),
    ...(descriptor.targetId === undefined ? {} : { targetId: descriptor.targetId }),
    ...(descriptor.data === undefined ? {} : { data: descriptor.data }),
  }
}
