import * as crypto from 'node:crypto'
import { CAP_FEATURES, NEVER_SEND_CAPS, type EngineCaps } from './caps.js'
import { dumpDotOps, dumpJsonOps } from './dump.js'
import { LlbError } from './errors.js'
import { Writer, encode, encodeMessage, encodeOp } from './pb/codec.js'
import type { PbDefinition, PbInput, PbOp, PbOpMetadata } from './pb/types.js'
import { defaultPlatform, normalizePlatform, type Platform } from './platform.js'
import type { State } from './state.js'
import { metadataToPB, type BuildContext, type CapSupport, type OpOptions, type Output, type Vertex } from './vertex.js'

/** The default message limit: dockerd refuses gRPC messages over 4 MiB (wire doc 11.11, 13.10). */
export const DEFAULT_MAX_DEFINITION_BYTES = 4 * 1024 * 1024

/** Options of {@link State.marshal}. */
export interface MarshalOptions {
  /** Platform of ops that have none of their own; default this machine's (`linux/amd64` here), like Go. */
  platform?: Platform | string
  /**
   * The engine's caps. With them, ops are checked (and lowered where that is faithful) before anything is sent;
   * without them nothing is checked, like Go without caps. A bare Set counts as the enabled caps.
   */
  caps?: EngineCaps | ReadonlySet<string>
  /** The engine's name and version, for error messages (e.g. `dockerd 26.1 (BuildKit v0.13)`). */
  engine?: string
  /**
   * `local.unique` of local sources without a session. Default: one random id per process, so a process's builds
   * share local vertices and digests stay stable within it (Go draws a new one per marshal).
   */
  localUniqueId?: string
  /** Fail with `LLB_DEFINITION_TOO_LARGE` when the serialized Definition is larger; default 4 MiB. */
  maxBytes?: number
}

/** One op of a {@link Definition}. */
export interface DefinitionOp {
  readonly digest: string
  /** The exact bytes in `Definition.def` (possibly a view into a shared buffer: copy before keeping `.buffer`). */
  readonly bytes: Uint8Array
  readonly op: PbOp
  readonly metadata: PbOpMetadata
  /** The vertex name (custom name, or what BuildKit would show); `terminal` for the terminal op. */
  readonly name: string
}

/**
 * A marshalled LLB graph: the `pb.Definition` bytes to put in a SolveRequest (or pipe to `buildctl build`), plus
 * the ops by digest. Immutable.
 */
export class Definition {
  /** @internal */
  constructor(
    /** The serialized `pb.Definition`. */
    readonly bytes: Uint8Array,
    /** The ops in `def` order (depth-first post-order, terminal op last), keyed by digest. */
    readonly ops: ReadonlyMap<string, DefinitionOp>,
    /** Digest of the op whose output is the result; undefined for scratch. */
    readonly digest: string | undefined,
    /** Which output of that op is the result. */
    readonly outputIndex: number,
    /** Digest of the terminal op (the last element of `def`). */
    readonly terminal: string | undefined,
  ) {}

  /** The op bytes in `def` order. */
  get def(): Uint8Array[] {
    return [...this.ops.values()].map((op) => op.bytes)
  }

  /** The metadata map (`Definition.metadata`). */
  get metadata(): Record<string, PbOpMetadata> {
    return Object.fromEntries([...this.ops.values()].map((op) => [op.digest, op.metadata]))
  }

  /** toPB: the `pb.Definition` message. */
  toPB(): PbDefinition {
    return { def: this.def, metadata: this.metadata }
  }

  /** Every cap id the ops ask for, terminal op included. */
  caps(): Set<string> {
    const caps = new Set<string>()
    for (const op of this.ops.values()) for (const cap of Object.keys(op.metadata.caps ?? {})) caps.add(cap)
    return caps
  }

  /** `buildctl debug dump-llb` output: one JSON object per op, one per line. */
  dumpJson(): string {
    return dumpJsonOps([...this.ops.values()])
  }

  /** `buildctl debug dump-llb --dot` output. */
  dumpDot(): string {
    return dumpDotOps([...this.ops.values()])
  }
}

let processUniqueId: string | undefined
let marshalEpoch = 0
const EPOCH = Symbol('kiln.llb.marshal.epoch')
const DIGEST = Symbol('kiln.llb.marshal.digest')
const TARGET = Symbol('kiln.llb.marshal.target')
const INPUT = Symbol('kiln.llb.marshal.input')

interface VertexSlots {
  [EPOCH]?: number
  [DIGEST]?: string | undefined
  [TARGET]?: Vertex
  [INPUT]?: PbInput | undefined
}

function capSupport(caps: EngineCaps | ReadonlySet<string> | undefined): ((cap: string) => CapSupport) | undefined {
  if (!caps) return undefined
  const enabled = caps instanceof Set ? (caps as ReadonlySet<string>) : (caps as EngineCaps).enabled
  const disabled = caps instanceof Set ? undefined : (caps as EngineCaps).disabled
  return (cap) => (enabled.has(cap) ? 'enabled' : disabled?.has(cap) ? 'disabled' : 'absent')
}

function disabledReason(caps: EngineCaps | ReadonlySet<string> | undefined, cap: string): string | undefined {
  return caps && !(caps instanceof Set) ? (caps as EngineCaps).disabled?.get(cap) : undefined
}

// One-shot `crypto.hash` (Node 20.12+) is several times cheaper than a Hash object per op.
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'hex') => string }).hash

/** `sha256:<hex>` of bytes: an op's digest. */
export function digestOf(bytes: Uint8Array): string {
  return `sha256:${oneShot ? oneShot('sha256', bytes, 'hex') : crypto.createHash('sha256').update(bytes).digest('hex')}`
}

function mergeMetadata(into: PbOpMetadata, from: PbOpMetadata): PbOpMetadata {
  const out: PbOpMetadata = { ...into }
  if (from.ignoreCache) out.ignoreCache = true
  if (from.description) out.description = { ...out.description, ...from.description }
  if (from.caps) out.caps = { ...out.caps, ...from.caps }
  if (from.progressGroup) out.progressGroup = from.progressGroup
  return out
}

/** One op while marshalling; the same record ends up in `Definition.ops`. */
interface Built extends DefinitionOp {
  metadata: PbOpMetadata
}

/** @internal Implements {@link State.marshal}. */
export function marshalState(state: State, options: MarshalOptions): Definition {
  const support = capSupport(options.caps)
  const engine = options.engine ?? 'the engine'
  // Per-marshal state lives in symbol slots on the vertices, stamped with this marshal's epoch: cheaper than Maps
  // keyed by vertex (no identity hashing), invisible to users, and safe because marshal is synchronous.
  const epoch = ++marshalEpoch
  const slot = (vertex: Vertex) => vertex as unknown as VertexSlots
  const context: BuildContext = {
    platform: options.platform === undefined ? defaultPlatform() : normalizePlatform(options.platform),
    localUniqueId: options.localUniqueId ?? (processUniqueId ??= crypto.randomBytes(13).toString('hex')),
    hasCaps: support !== undefined,
    support: support ?? (() => 'enabled'),
    input(output: Output): PbInput {
      const slots = slot(output.vertex)
      if (slots[EPOCH] !== epoch || slots[DIGEST] === undefined) throw new Error('llb: input marshalled out of order')
      const digest = slots[DIGEST]
      if (output.index !== 0) return { digest, index: output.index }
      // Output 0 is by far the most read: one shared, frozen Input per vertex and marshal.
      return (slots[INPUT] ??= Object.freeze({ digest }))
    },
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DEFINITION_BYTES
  const result = state.output()
  if (!result) return new Definition(encode('Definition', {}), new Map(), undefined, 0, undefined)

  // 1. Vertices in post-order (inputs first), lowering each once. Iterative: chains may be 10k+ deep.
  const visit = (vertex: Vertex): Vertex => {
    const slots = slot(vertex)
    slots[EPOCH] = epoch
    slots[DIGEST] = undefined
    slots[INPUT] = undefined
    const target = (support && vertex.lower?.(context)) || vertex
    slots[TARGET] = target
    return target
  }
  const order: Vertex[] = []
  // Parallel stacks (vertex, its inputs, next input) instead of one tuple per vertex.
  const stackVertex: Vertex[] = [result.vertex]
  const stackInputs: (readonly Output[])[] = [visit(result.vertex).inputs()]
  const stackNext: number[] = [0]
  while (stackVertex.length > 0) {
    const top = stackVertex.length - 1
    const inputs = stackInputs[top] as readonly Output[]
    const next = stackNext[top] as number
    if (next < inputs.length) {
      stackNext[top] = next + 1
      const child = (inputs[next] as Output).vertex
      if (slot(child)[EPOCH] !== epoch) {
        stackVertex.push(child)
        stackInputs.push(visit(child).inputs())
        stackNext.push(0)
      }
      continue
    }
    order.push(stackVertex.pop() as Vertex)
    stackInputs.pop()
    stackNext.pop()
  }

  // 2. Build, check caps, serialize and hash each vertex; identical ops collapse to one digest.
  const byDigest = new Map<string, Built>()
  for (const vertex of order) {
    const target = slot(vertex)[TARGET] as Vertex
    const built = target.build(context)
    const caps: string[] = []
    for (const cap of built.caps) {
      if (NEVER_SEND_CAPS.has(cap)) continue
      const stand = context.support(cap)
      if (stand === 'enabled') caps.push(cap)
      else if (stand === 'disabled' && (cap === 'mergeop' || cap === 'diffop')) continue // builds without the cap (wire doc 13.6)
      else throw unsupported(cap, stand, built.name, built.options, target, engine, disabledReason(options.caps, cap))
    }
    caps.sort()
    const bytes = encodeOp(built.op)
    const digest = digestOf(bytes)
    slot(vertex)[DIGEST] = digest
    const metadata = metadataToPB(built.options, caps)
    const known = byDigest.get(digest)
    if (known) known.metadata = mergeMetadata(known.metadata, metadata)
    else byDigest.set(digest, { digest, bytes, op: built.op, metadata, name: built.options.customName ?? built.name })
  }

  // 3. Go's order: depth-first post-order by content from the result, each digest once, terminal op last.
  const resultDigest = slot(result.vertex)[DIGEST] as string
  const ops = new Map<string, DefinitionOp>()
  const emitted = new Set<string>([resultDigest])
  const walk: [Built, number][] = [[byDigest.get(resultDigest) as Built, 0]]
  while (walk.length > 0) {
    const top = walk[walk.length - 1] as [Built, number]
    const inputs = top[0].op.inputs ?? []
    if (top[1] < inputs.length) {
      const digest = (inputs[top[1]++] as PbInput).digest as string
      if (!emitted.has(digest)) {
        emitted.add(digest)
        walk.push([byDigest.get(digest) as Built, 0])
      }
      continue
    }
    walk.pop()
    ops.set(top[0].digest, top[0])
  }
  const terminalOp: PbOp = { inputs: [result.index === 0 ? { digest: resultDigest } : { digest: resultDigest, index: result.index }] }
  const terminalBytes = encode('Op', terminalOp)
  const terminal = digestOf(terminalBytes)
  const terminalCaps: Record<string, boolean> = { constraints: true, platform: true }
  for (const op of ops.values()) {
    if (op.metadata.ignoreCache) terminalCaps['meta.ignorecache'] = true
    if (op.metadata.description) terminalCaps['meta.description'] = true
    if (op.metadata.exportCache) terminalCaps['meta.exportcache'] = true
  }
  ops.set(terminal, { digest: terminal, bytes: terminalBytes, op: terminalOp, metadata: { caps: terminalCaps }, name: 'terminal' })

  const bytes = encodeDefinition(ops)
  if (bytes.length > maxBytes) {
    const largest = [...ops.values()].reduce((a, b) => (b.bytes.length > a.bytes.length ? b : a))
    throw new LlbError(
      'LLB_DEFINITION_TOO_LARGE',
      `Expected the LLB definition to fit the ${maxBytes}-byte message limit of ${engine}, received ${bytes.length} bytes ` +
        `(${ops.size} ops; the largest is "${largest.name}" with ${largest.bytes.length} bytes). ` +
        'Move large file contents into a local source instead of mkfile.',
      { size: bytes.length, limit: maxBytes, engine, op: largest.name },
    )
  }
  return new Definition(bytes, ops, resultDigest, result.index, terminal)
}

/**
 * Serializes `pb.Definition` straight from the ops map (def in order, metadata sorted by digest): the same bytes as
 * `encode('Definition', …)` without building a 10k-key object first.
 */
function encodeDefinition(ops: ReadonlyMap<string, DefinitionOp>): Uint8Array {
  const writer = new Writer(64 * 1024)
  for (const op of ops.values()) {
    writer.tag(1, 2)
    writer.bytes(op.bytes)
  }
  const digests = [...ops.keys()].sort()
  for (const digest of digests) {
    writer.tag(2, 2)
    const entry = writer.begin()
    writer.tag(1, 2)
    writer.string(digest)
    writer.tag(2, 2)
    const value = writer.begin()
    encodeMessage(writer, 'OpMetadata', (ops.get(digest) as DefinitionOp).metadata)
    writer.end(value)
    writer.end(entry)
  }
  return writer.finish()
}

function unsupported(cap: string, stand: CapSupport, name: string, options: OpOptions, vertex: Vertex, engine: string, reason: string | undefined): LlbError {
  const feature = CAP_FEATURES[cap] ?? cap
  const opName = options.customName ?? name
  const refusal = (vertex as { lowerRefusal?: () => string }).lowerRefusal?.()
  const why = stand === 'disabled' ? `has it disabled${reason ? ` (${reason})` : ''}` : 'does not support it'
  return new LlbError(
    'LLB_UNSUPPORTED_CAP',
    `The ${vertex.kind} op "${opName}" needs ${feature} (capability ${cap}), but ${engine} ${why}` +
      `${refusal ? `; ${refusal}` : ''}.`,
    { feature: cap, op: opName, engine, ...(reason ? { reason } : {}) },
  )
}
