import { decodeDefinition } from './dump.js'
import { LlbError } from './errors.js'
import { encode } from './pb/codec.js'
import type { PbOp, PbOpMetadata } from './pb/types.js'
import { scratch, type State } from './state.js'
import type { BuildContext, BuiltOp, OpOptions, Output, Vertex } from './vertex.js'

/** Options of {@link fromDefinition}. */
export interface FromDefinitionOptions {
  /**
   * Rewrites an op before it joins the graph (for example to rename secret ids). Ops it returns unchanged keep their
   * exact bytes and digests. Inputs are remapped afterwards, so it must not change `inputs`.
   */
  readonly mapOp?: (op: PbOp, digest: string) => PbOp
  /** Where the definition came from, for error messages (e.g. `the dockerfile.v0 frontend on dockerd 26.1`). */
  readonly origin?: string
}

/** One op of a marshalled definition, replayed as a vertex: the same op, its inputs remapped to replayed vertices. */
class DefinitionOpVertex implements Vertex {
  readonly kind: string

  constructor(
    private readonly op: PbOp,
    private readonly metadata: PbOpMetadata,
    private readonly inputOutputs: readonly Output[],
  ) {
    this.kind = op.exec ? 'exec' : op.file ? 'file' : op.source ? 'source' : op.merge ? 'merge' : op.diff ? 'diff' : 'build'
  }

  inputs(): readonly Output[] {
    return this.inputOutputs
  }

  build(context: BuildContext): BuiltOp {
    const op: PbOp = { ...this.op, inputs: this.inputOutputs.map((output) => context.input(output)) }
    const group = this.metadata.progressGroup
    const options: OpOptions = {
      ...(this.metadata.description ? { description: { ...this.metadata.description } } : {}),
      ...(this.metadata.ignoreCache ? { ignoreCache: true } : {}),
      ...(group?.id ? { progressGroup: { id: group.id, ...(group.name ? { name: group.name } : {}), ...(group.weak ? { weak: true } : {}) } } : {}),
    }
    return { op, caps: Object.keys(this.metadata.caps ?? {}), name: this.metadata.description?.['llb.customname'] ?? this.kind, options }
  }
}

/**
 * A marshalled `pb.Definition` (built by anyone: a frontend's result, another client) as a State, like Go's
 * `llb.NewDefinitionOp`: later ops build on it and it marshals with the rest of the graph. Every op keeps its exact
 * bytes and digest; an op this package cannot re-encode byte for byte (fields it does not know) is refused with
 * `LLB_INVALID_DEFINITION` rather than silently changed. An empty definition is `scratch()`.
 */
export function fromDefinition(bytes: Uint8Array, options: FromDefinitionOptions = {}): State {
  const origin = options.origin ?? 'the definition'
  const ops = decodeDefinition(bytes).ops
  const terminal = ops.at(-1)
  if (terminal === undefined) return scratch()
  const vertices = new Map<string, Vertex>()
  const outputOf = (digest: string, input: { digest?: string; index?: number }): Output => {
    const vertex = vertices.get(input.digest ?? '')
    if (vertex === undefined) {
      throw new LlbError('LLB_INVALID_DEFINITION', `Op ${digest} of ${origin} reads ${input.digest ?? '?'}: expected an op listed before it, received none`, { digest })
    }
    return { vertex, index: Number(input.index ?? 0) }
  }
  for (const { digest, bytes: opBytes, op, metadata } of ops.slice(0, -1)) {
    if (Buffer.compare(Buffer.from(encode('Op', op)), Buffer.from(opBytes)) !== 0) {
      throw new LlbError('LLB_INVALID_DEFINITION', `Op ${digest} of ${origin} has fields @kiln/llb does not know: it cannot join the graph unchanged`, { digest })
    }
    const mapped = options.mapOp ? options.mapOp(op, digest) : op
    vertices.set(digest, new DefinitionOpVertex(mapped, metadata, (op.inputs ?? []).map((input) => outputOf(digest, input))))
  }
  const [result] = terminal.op.inputs ?? []
  if (result === undefined) return scratch()
  return scratch().withOutput(outputOf(terminal.digest, result))
}
