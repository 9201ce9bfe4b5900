import type { Artifact, StateLike } from '@kiln/core'
import { DOCKERD_20_10, type Definition, type DefinitionOp, type MarshalOptions, type PbExecOp, type PbFileAction, type PbSourceOp } from '@kiln/llb'
import { toState } from '../convert.js'

/** Marshals an artifact's state the way the runtime would for dockerd 20.10 (BuildKit 0.8), deterministically. */
export function marshal(state: StateLike, options: MarshalOptions = {}): Definition {
  return toState(state, 'a test state').marshal({ platform: 'linux/amd64', localUniqueId: 'kiln-test', ...DOCKERD_20_10, ...options })
}

/** The ops of a definition without the terminal op. */
export function opsOf(definition: Definition): DefinitionOp[] {
  return [...definition.ops.values()].filter((op) => op.name !== 'terminal')
}

export function execOf(definition: Definition): { op: PbExecOp; inputs: string[]; entry: DefinitionOp } {
  const found = opsOf(definition).filter((entry) => entry.op.exec !== undefined)
  if (found.length !== 1) throw new Error(`Expected one exec op, found ${found.length}`)
  const entry = found[0] as DefinitionOp
  return { op: entry.op.exec as PbExecOp, inputs: (entry.op.inputs ?? []).map((input) => input.digest as string), entry }
}

export function sourcesOf(definition: Definition): PbSourceOp[] {
  return opsOf(definition).flatMap((entry) => (entry.op.source === undefined ? [] : [entry.op.source]))
}

/** The op at the result of the definition. */
export function resultOp(definition: Definition): DefinitionOp {
  return definition.ops.get(definition.digest as string) as DefinitionOp
}

export function fileActions(entry: DefinitionOp): PbFileAction[] {
  return entry.op.file?.actions ?? []
}

/** The digest of the op an input index of `entry` points at. */
export function inputOp(definition: Definition, entry: DefinitionOp, index: number): DefinitionOp {
  const digest = entry.op.inputs?.[index]?.digest
  return definition.ops.get(digest as string) as DefinitionOp
}

/** The state of a filesystem or image artifact (run's outputs are typed loosely: they depend on the config). */
export function stateOf(artifact: Artifact | undefined): StateLike {
  if (artifact === undefined || (artifact.kind !== 'filesystem' && artifact.kind !== 'image')) throw new Error(`Expected a filesystem or image artifact, received ${artifact?.kind ?? 'nothing'}`)
  return artifact.state
}
