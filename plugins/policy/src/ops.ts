import type { Plan, StateLike } from '@kiln/core'
import { isState } from '@kiln/llb'
import type { Definition, PbOp } from '@kiln/llb'

/** One LLB op a node introduced into the run, decoded from its marshalled states. */
export interface NodeOp {
  readonly nodeId: string
  /** The node's type (kind). */
  readonly nodeType: string
  /** The op's digest (`sha256:…`), as BuildKit names the vertex. */
  readonly digest: string
  /** The vertex name: a source's identifier (`docker-image://…`), an exec's argv, or a custom name. */
  readonly name: string
  readonly op: PbOp
  /** The plan target whose state contains the op, if any. */
  readonly targetId?: string
}

/** The ops of a plan, attributed to the node that introduced each. */
export interface PlanOps {
  /** By node id, in plan order; ops in each node's definition order. */
  readonly byNode: ReadonlyMap<string, readonly NodeOp[]>
  /** Every op of the plan, in plan order. */
  all(): readonly NodeOp[]
}

// Marshalling is deterministic, so a state is marshalled once per process however many rules look at it.
const definitions = new WeakMap<object, Definition | null>()
const analyses = new WeakMap<Plan, PlanOps>()

/**
 * Marshals an llb State to its Definition; `undefined` for a state that is not an llb State (e.g. a test stand-in),
 * which has no ops to check. Marshal errors propagate: a plan whose LLB cannot be built cannot run either.
 */
export function definitionOf(state: StateLike): Definition | undefined {
  const known = definitions.get(state)
  if (known !== undefined) return known ?? undefined
  const definition = isState(state) && typeof (state as { marshal?: unknown }).marshal === 'function' ? state.marshal({ maxBytes: Number.MAX_SAFE_INTEGER }) : null
  definitions.set(state, definition)
  return definition ?? undefined
}

/**
 * Decodes every LLB state of a plan (each node's filesystem and image outputs, and each target's state) and attributes
 * each op to the node that introduced it: the ops reachable from a node's states, minus those reachable from the
 * states of the nodes it depends on. An op two unrelated nodes both build (the same base image) belongs to both.
 */
export function planOps(plan: Plan): PlanOps {
  const cached = analyses.get(plan)
  if (cached !== undefined) return cached
  const reachable = new Map<string, Set<string>>()
  const byNode = new Map<string, NodeOp[]>()
  for (const node of plan.nodes) {
    const states: { state: StateLike; targetId?: string }[] = []
    for (const targetId of node.targets) {
      const target = plan.target(targetId)
      if (target !== undefined) states.push({ state: target.state, targetId })
    }
    for (const artifact of Object.values(node.outputs)) if (artifact.kind === 'filesystem' || artifact.kind === 'image') states.push({ state: artifact.state })

    const inherited = new Set<string>()
    for (const upstream of plan.upstream(node.id)) for (const digest of reachable.get(upstream) ?? []) inherited.add(digest)
    const own = new Set<string>()
    const ops: NodeOp[] = []
    for (const { state, targetId } of states) {
      const definition = definitionOf(state)
      if (definition === undefined) continue
      for (const op of definition.ops.values()) {
        const seen = own.has(op.digest)
        own.add(op.digest)
        if (seen || op.digest === definition.terminal || inherited.has(op.digest)) continue
        ops.push({ nodeId: node.id, nodeType: node.type, digest: op.digest, name: op.name, op: op.op, ...(targetId === undefined ? {} : { targetId }) })
      }
    }
    reachable.set(node.id, own)
    byNode.set(node.id, ops)
  }
  const analysis: PlanOps = { byNode, all: () => [...byNode.values()].flat() }
  analyses.set(plan, analysis)
  return analysis
}
