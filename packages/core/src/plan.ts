import type { Artifact, ImageArtifact, StateLike } from './artifacts.js'
import type { CompiledGraph, Finding } from './compile.js'
import { CoreError } from './errors.js'
import { oneOf } from './format.js'
import type { GraphEdge } from './graph.js'
import type { Exporter, InspectContext, Phase, TargetKind, TargetSpec, ValueSource } from './node-type.js'

/**
 * One thing the runtime materialises: a state to solve, and what to do with the result. Targets are what the
 * engine runs; `dependsOn` says which must succeed first.
 */
export interface Target {
  /** `<nodeId>#<name>`, unique in the plan. */
  readonly id: string
  readonly nodeId: string
  readonly name: string
  readonly kind: TargetKind
  readonly phase: Phase
  readonly state: StateLike
  readonly exporter?: Exporter
  readonly image?: { readonly config: ImageArtifact['config']; readonly platform?: ImageArtifact['platform'] }
  readonly secrets: readonly string[]
  /** Whether the engine may serve it from cache. `publish` targets default to false. */
  readonly cache: boolean
  readonly values: Readonly<Record<string, ValueSource>>
  readonly inspect?: (context: InspectContext) => void | Promise<void>
  readonly description?: string
  /**
   * Target ids that must succeed first: the targets of the node's direct dependencies, and, for `publish`
   * targets, every `build` and `check` target of the plan.
   */
  readonly dependsOn: readonly string[]
}

/** A node as the plan shows it. */
export interface PlanNode {
  readonly id: string
  readonly type: string
  readonly phase: Phase
  readonly outputs: Readonly<Record<string, Artifact>>
  /** Direct dependencies (references and `after`). */
  readonly dependencies: readonly string[]
  readonly targets: readonly string[]
  /** Findings the node type reported while compiling. */
  readonly findings: readonly Finding[]
}

/**
 * What a run will do, before anything runs: every node with its artifacts, every edge, and the targets in a
 * dependency-respecting order. Policies check it; `kiln plan` prints it; the runtime runs it.
 */
export interface Plan {
  readonly nodes: readonly PlanNode[]
  readonly edges: readonly GraphEdge[]
  /** In topological order of their nodes; within a node, in declaration order. */
  readonly targets: readonly Target[]
  readonly compiled: CompiledGraph
  node(id: string): PlanNode | undefined
  target(id: string): Target | undefined
  /** Every node a node transitively depends on. */
  upstream(id: string): readonly string[]
}

/** Options of {@link createPlan}. */
export interface PlanOptions {
  /** Plan only these nodes and what they depend on (`kiln run build test`). */
  readonly nodes?: readonly string[]
}

/**
 * Turns a compiled graph into a plan. A node that declared no target gets one `build` target per filesystem or image
 * output. A target's phase is its node's phase, raised to `check` for check targets and to `publish` for publish
 * targets. Every `publish` target depends on every `build` and `check` target of the plan, so a side effect runs only
 * after every check and test of the run passed.
 *
 * @example
 * ```ts
 * const plan = createPlan(await compileGraph(graph, { registry }))
 * for (const target of plan.targets) console.log(target.id, target.phase, target.dependsOn)
 * ```
 */
export function createPlan(compiled: CompiledGraph, options: PlanOptions = {}): Plan {
  const { graph } = compiled
  const included = new Set<string>()
  for (const id of options.nodes ?? graph.order) {
    if (!compiled.nodes.has(id)) {
      const known = [...compiled.nodes.keys()]
      throw new CoreError('GRAPH_DANGLING_REFERENCE', `Unknown node "${id}" in the plan: expected ${oneOf(known)}`, { nodeId: id, expected: oneOf(known), received: `"${id}"` })
    }
    included.add(id)
    for (const upstream of graph.upstream(id)) included.add(upstream)
  }
  const order = graph.order.filter((id) => included.has(id))

  const targetsByNode = new Map<string, string[]>()
  const drafts: Omit<Target, 'dependsOn'>[] = []
  for (const id of order) {
    const node = compiled.nodes.get(id)
    if (node === undefined) continue
    const specs: readonly TargetSpec[] =
      node.targets.length > 0
        ? node.targets
        : Object.entries(node.outputs).flatMap(([name, artifact]) =>
            artifact.kind === 'filesystem' || artifact.kind === 'image' ? [{ name: name === 'default' ? 'build' : `build-${name}`, kind: 'build' as const, state: artifact.state }] : [],
          )
    const list: string[] = []
    for (const spec of specs) {
      const name = spec.name ?? spec.kind
      const phase: Phase = spec.kind === 'publish' || node.phase === 'publish' ? 'publish' : spec.kind === 'check' || node.phase === 'check' ? 'check' : 'build'
      const draft = {
        id: `${id}#${name}`,
        nodeId: id,
        name,
        kind: spec.kind,
        phase,
        state: spec.state,
        ...(spec.exporter === undefined ? {} : { exporter: spec.exporter }),
        ...(spec.image === undefined ? {} : { image: spec.image }),
        secrets: [...(spec.secrets ?? [])],
        cache: spec.cache ?? phase !== 'publish',
        values: { ...spec.values },
        ...(spec.inspect === undefined ? {} : { inspect: spec.inspect }),
        ...(spec.description === undefined ? {} : { description: spec.description }),
      }
      drafts.push(draft)
      list.push(draft.id)
    }
    targetsByNode.set(id, list)
  }

  const gate = drafts.filter((target) => target.phase !== 'publish').map((target) => target.id)
  const targets: Target[] = drafts.map((draft) => {
    const dependsOn = new Set<string>()
    for (const dependency of graph.dependencies(draft.nodeId)) for (const target of targetsByNode.get(dependency) ?? []) dependsOn.add(target)
    if (draft.phase === 'publish') for (const id of gate) dependsOn.add(id)
    return { ...draft, dependsOn: [...dependsOn] }
  })
  const targetById = new Map(targets.map((target) => [target.id, target]))

  const nodes: PlanNode[] = order.map((id) => {
    const node = compiled.nodes.get(id)
    if (node === undefined) throw new CoreError('GRAPH_DANGLING_REFERENCE', `Node "${id}" was not compiled`, { nodeId: id })
    return {
      id,
      type: node.type,
      phase: node.phase,
      outputs: node.outputs,
      dependencies: graph.dependencies(id).filter((other) => included.has(other)),
      targets: targets.filter((target) => target.nodeId === id).map((target) => target.id),
      findings: node.findings,
    }
  })
  const nodeById = new Map(nodes.map((node) => [node.id, node]))
  return {
    nodes,
    edges: graph.edges.filter((edge) => included.has(edge.from) && included.has(edge.to)),
    targets,
    compiled,
    node: (id) => nodeById.get(id),
    target: (id) => targetById.get(id),
    upstream: (id) => graph.upstream(id).filter((other) => included.has(other)),
  }
}
