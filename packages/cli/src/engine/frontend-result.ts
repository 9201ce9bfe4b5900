import { EngineError, type ImageConfig, type Platform } from '@kiln/core'
import { decodeDefinition, encode, scratch, type BuildContext, type BuiltOp, type OpOptions, type Output, type PbOp, type PbOpMetadata, type State, type Vertex } from '@kiln/llb'

/** One op of a frontend's result, replayed as a vertex: the same op, its inputs remapped to replayed vertices. */
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
 * A gateway Result ref's `def` (the LLB a frontend produced) as an llb State, like Go's `llb.NewDefinitionOp`: later
 * ops build on it and marshal it with the rest of the run's graph, so its steps run in the run's solves, with its
 * local sources served by the run's session. Each op keeps its exact bytes (and digest); an op @kiln/llb cannot
 * re-encode byte for byte is refused rather than changed.
 */
export function definitionState(bytes: Uint8Array, engine: string): State {
  const ops = decodeDefinition(bytes).ops
  const terminal = ops.at(-1)
  if (terminal === undefined) return scratch()
  const vertices = new Map<string, Vertex>()
  const outputOf = (digest: string, input: { digest?: string; index?: number }): Output => {
    const vertex = vertices.get(input.digest ?? '')
    if (vertex === undefined) throw new EngineError('BUILDKIT_SOLVE_FAILED', `The frontend's LLB from ${engine} is out of order: op ${digest} reads ${input.digest ?? '?'}, which comes later`, { engine })
    return { vertex, index: Number(input.index ?? 0) }
  }
  for (const { digest, bytes: opBytes, op, metadata } of ops.slice(0, -1)) {
    if (Buffer.compare(Buffer.from(encode('Op', op)), Buffer.from(opBytes)) !== 0) {
      throw new EngineError('BUILDKIT_UNSUPPORTED', `The frontend's LLB from ${engine} has an op (${digest}) with fields @kiln/llb does not know; it cannot join the run's graph unchanged`, { engine, op: digest })
    }
    vertices.set(digest, new DefinitionOpVertex(op, metadata, (op.inputs ?? []).map((input) => outputOf(digest, input))))
  }
  const [result] = terminal.op.inputs ?? []
  if (result === undefined) return scratch()
  return scratch().withOutput(outputOf(terminal.digest, result))
}

/** The image config and platform in a frontend's `containerimage.config` metadata (an OCI image config, JSON). */
export function frontendImageConfig(bytes: Uint8Array): { config: ImageConfig; platform?: Platform } {
  const image = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>
  const config = (image.config ?? {}) as Record<string, unknown>
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : undefined)
  const out: { -readonly [K in keyof ImageConfig]: ImageConfig[K] } = {}
  const env = strings(config.Env)
  if (env) out.env = env
  if (typeof config.WorkingDir === 'string' && config.WorkingDir) out.workingDir = config.WorkingDir
  if (typeof config.User === 'string' && config.User) out.user = config.User
  const entrypoint = strings(config.Entrypoint)
  if (entrypoint) out.entrypoint = entrypoint
  const cmd = strings(config.Cmd)
  if (cmd) out.cmd = cmd
  if (config.Labels && typeof config.Labels === 'object') out.labels = { ...(config.Labels as Record<string, string>) }
  if (config.ExposedPorts && typeof config.ExposedPorts === 'object') out.exposedPorts = Object.keys(config.ExposedPorts)
  if (config.Volumes && typeof config.Volumes === 'object') out.volumes = Object.keys(config.Volumes)
  if (typeof config.StopSignal === 'string' && config.StopSignal) out.stopSignal = config.StopSignal
  const os = typeof image.os === 'string' ? image.os : undefined
  const architecture = typeof image.architecture === 'string' ? image.architecture : undefined
  const variant = typeof image.variant === 'string' && image.variant ? image.variant : undefined
  return { config: out, ...(os && architecture ? { platform: { os, architecture, ...(variant ? { variant } : {}) } } : {}) }
}
