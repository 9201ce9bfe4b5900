import { decodeDefinition, fromDefinition, MountType, type State } from '@kiln/llb'

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

/**
 * The same LLB with the ids of secret mounts renamed (`from` → `to`): the Dockerfile's `--mount=type=secret,id=ID`
 * asks the session for the declared secret the node maps that id to. Every op is replayed as it is, so ops without
 * such a mount keep their digests; an op whose bytes would not survive the replay fails loudly rather than change.
 */
export function withSecretIds(state: State, rename: Readonly<Record<string, string>>): State {
  const replayed = fromDefinition(state.marshal().bytes, {
    origin: "the frontend's LLB",
    mapOp: (op) =>
      op.exec
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
        : op,
  })
  return state.withOutput(replayed.output())
}
