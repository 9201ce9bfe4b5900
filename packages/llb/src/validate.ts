import { CAP_FEATURES, NEVER_SEND_CAPS, type EngineCaps } from './caps.js'
import { decodeDefinition, type DecodedDefinition, type DecodedOp } from './dump.js'
import { LlbError } from './errors.js'
import { DEFAULT_MAX_DEFINITION_BYTES } from './marshal.js'
import { MountType } from './pb/types.js'
import type { PbOp } from './pb/types.js'

/** Options of {@link validateDefinition}. */
export interface ValidateOptions {
  /** Also check every (non-terminal) op's caps against the engine's. */
  caps?: EngineCaps | ReadonlySet<string>
  /** The engine's name, for messages. */
  engine?: string
  /** Message limit; default 4 MiB. */
  maxBytes?: number
}

/** What {@link validateDefinition} found in a valid Definition. */
export interface ValidatedDefinition extends DecodedDefinition {
  /** Digest of the terminal op (last in `def`), or undefined for an empty Definition. */
  readonly terminal: string | undefined
  /** The result: the terminal op's input. */
  readonly result: { digest: string; index: number } | undefined
}

function fail(message: string, digest?: string): never {
  throw new LlbError('LLB_INVALID_DEFINITION', message, digest ? { digest } : {})
}

function opKind(op: PbOp): string | undefined {
  for (const kind of ['exec', 'source', 'file', 'build', 'merge', 'diff', 'passthrough'] as const) if (op[kind] !== undefined) return kind
  return undefined
}

function outputCount(op: PbOp): number | undefined {
  if (op.source || op.merge || op.diff) return 1
  if (op.exec) return (op.exec.mounts ?? []).filter((mount) => (mount.mountType ?? MountType.BIND) === MountType.BIND && (mount.output ?? 0) !== -1).length
  if (op.file) return (op.file.actions ?? []).filter((action) => (action.output ?? 0) !== -1).length
  return undefined
}

function checkOp(entry: DecodedOp): void {
  const { op, digest } = entry
  const inputs = op.inputs ?? []
  if (op.exec) {
    const { meta, mounts = [] } = op.exec
    if (!meta || !(meta.args ?? []).length) fail(`Exec op ${digest} has no args`, digest)
    const roots = mounts.filter((mount) => mount.dest === '/')
    if (roots.length !== 1) fail(`Exec op ${digest} must have exactly one root mount, has ${roots.length}`, digest)
    if ((roots[0]?.mountType ?? 0) !== MountType.BIND) fail(`Exec op ${digest} has a root mount that is not a bind mount`, digest)
    for (const mount of mounts) {
      const input = mount.input ?? 0
      if (input < -1 || input >= inputs.length) fail(`Exec op ${digest} mounts input ${input} of ${inputs.length}`, digest)
    }
  }
  if (op.file) {
    const actions = op.file.actions ?? []
    if (actions.length === 0) fail(`File op ${digest} has no actions`, digest)
    const outputs = new Set<number>()
    actions.forEach((action, index) => {
      const limit = inputs.length + index
      for (const value of [action.input ?? 0, action.secondaryInput ?? 0]) {
        if (value < -1 || value >= limit) fail(`File op ${digest} action ${index} refers to index ${value}; allowed -1..${limit - 1}`, digest)
      }
      const output = action.output ?? 0
      if (output !== -1) {
        if (outputs.has(output)) fail(`File op ${digest} has output ${output} twice`, digest)
        outputs.add(output)
      }
      if (!action.copy && !action.mkdir && !action.mkfile && !action.rm && !action.symlink) fail(`File op ${digest} action ${index} has no action type`, digest)
    })
  }
  if (op.merge) {
    for (const input of op.merge.inputs ?? []) if ((input.input ?? 0) < 0 || (input.input ?? 0) >= inputs.length) fail(`Merge op ${digest} refers to input ${input.input ?? 0} of ${inputs.length}`, digest)
  }
  if (op.diff) {
    for (const side of [op.diff.lower, op.diff.upper]) {
      const input = side?.input ?? 0
      if (input < -1 || input >= inputs.length) fail(`Diff op ${digest} refers to input ${input} of ${inputs.length}`, digest)
    }
  }
}

/**
 * Decodes a `pb.Definition` (built by anyone) and checks it the way the engine will, before it is sent: every
 * input digest names an op of the definition (a dangling one crashes dockerd 26.1, wire doc 13.1), the last op is a
 * terminal op with an input, a non-empty definition has at least two ops, input and output indexes are in range,
 * exec ops have args and one root bind mount, and, given engine caps, every op's caps are known to the engine.
 * Throws `LLB_INVALID_DEFINITION` (or `LLB_UNSUPPORTED_CAP`, `LLB_DEFINITION_TOO_LARGE`).
 */
export function validateDefinition(bytes: Uint8Array, options: ValidateOptions = {}): ValidatedDefinition {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DEFINITION_BYTES
  const engine = options.engine ?? 'the engine'
  if (bytes.length > maxBytes) {
    throw new LlbError('LLB_DEFINITION_TOO_LARGE', `Expected the LLB definition to fit ${maxBytes} bytes, received ${bytes.length}`, { size: bytes.length, limit: maxBytes, engine })
  }
  let decoded: DecodedDefinition
  try {
    decoded = decodeDefinition(bytes)
  } catch (error) {
    throw new LlbError('LLB_INVALID_DEFINITION', `Expected pb.Definition bytes: ${(error as Error).message}`, {}, { cause: error })
  }
  const { ops } = decoded
  if (ops.length === 0) return { ...decoded, terminal: undefined, result: undefined }
  const byDigest = new Map(ops.map((entry) => [entry.digest, entry]))
  if (byDigest.size === 1) fail(`Expected at least two distinct ops (an op and the terminal op), received ${ops.length} copies of one`)
  const terminal = ops[ops.length - 1] as DecodedOp
  const terminalInputs = terminal.op.inputs ?? []
  if (terminalInputs.length === 0) fail(`Expected the last op to be the terminal op with an input, received ${terminal.digest} with none`, terminal.digest)
  if (opKind(terminal.op) !== undefined) fail(`Expected the last op to be a terminal op (inputs only), received a ${opKind(terminal.op)} op`, terminal.digest)
  for (const entry of ops) {
    ;(entry.op.inputs ?? []).forEach((input, index) => {
      const target = byDigest.get(input.digest ?? '')
      if (!target) fail(`Op ${entry.digest} input ${index} names ${input.digest ?? '(no digest)'}, which is not in the definition`, entry.digest)
      const count = outputCount(target.op)
      const outputIndex = input.index ?? 0
      if (outputIndex < 0 || (count !== undefined && outputIndex >= count)) {
        fail(`Op ${entry.digest} input ${index} reads output ${outputIndex} of ${input.digest}, which has ${count ?? 0}`, entry.digest)
      }
    })
    if (entry !== terminal) {
      if (opKind(entry.op) === undefined) fail(`Op ${entry.digest} has no op type and is not last`, entry.digest)
      checkOp(entry)
    }
  }
  if (options.caps) {
    const enabled = options.caps instanceof Set ? (options.caps as ReadonlySet<string>) : (options.caps as EngineCaps).enabled
    const disabled = options.caps instanceof Set ? undefined : (options.caps as EngineCaps).disabled
    for (const entry of ops) {
      if (entry === terminal) continue
      for (const cap of Object.keys(entry.metadata.caps ?? {})) {
        if (enabled.has(cap) && !NEVER_SEND_CAPS.has(cap)) continue
        const reason = disabled?.get(cap)
        throw new LlbError(
          'LLB_UNSUPPORTED_CAP',
          `Op ${entry.digest} needs ${CAP_FEATURES[cap] ?? cap} (capability ${cap}), but ${engine} ${reason ? `has it disabled (${reason})` : 'does not support it'}.`,
          { feature: cap, op: entry.digest, engine, ...(reason ? { reason } : {}) },
        )
      }
    }
  }
  const input = terminalInputs[0] as { digest?: string; index?: number }
  return { ...decoded, terminal: terminal.digest, result: { digest: input.digest ?? '', index: input.index ?? 0 } }
}
