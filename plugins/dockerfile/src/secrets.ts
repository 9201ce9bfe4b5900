import { decodeDefinition, encode, MountType, type BuildContext, type State, type BuiltOp, type OpOptions, type Output, type PbOp, type PbOpMetadata, type Vertex } from '@kiln/llb'

/** The secret and ssh mounts of a frontend's LLB, by the ids the Dockerfile gave them. */
export interface FrontendMounts {
  readonly secrets: readonly { readonly id: string; readonly optional: boolean }[]
  readonly ssh: readonly { readonly id: string; readonly optional: boolean }[]
}

function decoded(state: State) {
  return decodeDefinition(state.marshal().bytes).ops
}

/** Lists the secret and ssh mounts (`RUN --mount=type=secret|ssh`) in the LLB behind `state`. */
export function frontendSecrets(state: State): FrontendMounts {
  if (state.isScratch()) return { secrets: [], ssh: [] }
  const secrets = new Map<string, boolean>()
  const ssh = new Map<string, boolean>()
  for (const { op } of decoded(state)) {
    for (const mount of op.exec?.mounts ?? []) {
      if (mount.mountType === MountType.SECRET) {
        const id = mount.secretOpt?.ID ?? ''
        secrets.set(id, (secrets.get(id) ?? true) && (mount.secretOpt?.optional ?? false))
      } else if (mount.mountType === MountType.SSH) {
        const id = mount.SSHOpt?.ID || 'default'
        ssh.set(id, (ssh.get(id) ?? true) && (mount.SSHOpt?.optional ?? false))
      }
    }
  }
  const list = (map: Map<string, boolean>) => [...map].map(([id, optional]) => ({ id, optional })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return { secrets: list(secrets), ssh: list(ssh) }
}

/** One op of a marshalled definition, replayed as a vertex (inputs remapped to the replayed vertices). */
class ReplayedVertex implements Vertex {
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
    const options: OpOptions = {
      ...(this.metadata.description ? { description: { ...this.metadata.description } } : {}),
      ...(this.metadata.ignoreCache ? { ignoreCache: true } : {}),
      ...(this.metadata.progressGroup?.id ? { progressGroup: { id: this.metadata.progressGroup.id, ...(this.metadata.progressGroup.name ? { name: this.metadata.progressGroup.name } : {}), ...(this.metadata.progressGroup.weak ? { weak: true } : {}) } } : {}),
    }
    return { op, caps: Object.keys(this.metadata.caps ?? {}), name: this.metadata.description?.['llb.customname'] ?? this.kind, options }
  }
}

/**
 * The same LLB with the ids of secret mounts renamed (`from` → `to`): the Dockerfile's `--mount=type=secret,id=ID`
 * asks the session for the declared secret the node maps that id to. Every op is replayed as it is, so ops without
 * such a mount keep their digests; an op whose bytes would not survive the replay fails loudly rather than change.
 */
export function withSecretIds(state: State, rename: Readonly<Record<string, string>>): State {
  const definition = state.marshal()
  const ops = decodeDefinition(definition.bytes).ops
  const vertices = new Map<string, Vertex>()
  let result: Output | undefined
  for (const [position, { digest, bytes, op, metadata }] of ops.entries()) {
    if (Buffer.compare(Buffer.from(encode('Op', op)), Buffer.from(bytes)) !== 0) {
      throw new Error(`The frontend's op ${digest} uses LLB fields @kiln/llb does not know; cannot rename its secret ids`)
    }
    const inputs = (op.inputs ?? []).map((input) => {
      const vertex = vertices.get(input.digest ?? '')
      if (vertex === undefined) throw new Error(`The frontend's LLB is out of order: ${digest} needs ${input.digest ?? '?'}`)
      return { vertex, index: Number(input.index ?? 0) }
    })
    if (position === ops.length - 1) {
      // The terminal op: no body, one input, the result.
      result = inputs[0]
      break
    }
    const renamed: PbOp = op.exec
      ? {
          ...op,
          exec: {
            ...op.exec,
            mounts: (op.exec.mounts ?? []).map((mount) =>
              mount.mountType === MountType.SECRET && mount.secretOpt?.ID !== undefined && rename[mount.secretOpt.ID] !== undefined
                ? { ...mount, secretOpt: { ...mount.secretOpt, ID: rename[mount.secretOpt.ID] } }
                : mount,
            ),
          },
        }
      : op
    vertices.set(digest, new ReplayedVertex(renamed, metadata, inputs))
  }
  return state.withOutput(result)
}
