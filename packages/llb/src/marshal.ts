import * as crypto from 'node:crypto'
import { CAP_FEATURES, NEVER_SEND_CAPS, type EngineCaps } from './caps.js'
import { dumpDotOps, dumpJsonOps } from './dump.js'
import { LlbError } from './errors.js'
import { Writer, decode, encode, encodeMessage, encodeOp, lastOpFramed, startOp, takeOp } from './pb/codec.js'
import type { PbDefinition, PbInput, PbOp, PbOpMetadata } from './pb/types.js'
import { defaultPlatform, normalizePlatform, type Platform } from './platform.js'
import type { State } from './state.js'
import { MEMO_SLOT, isDirectVertex, metadataToPB, type BuildContext, type CapSupport, type DirectVertex, type EncodeContext, type OpOptions, type Output, type Vertex } from './vertex.js'

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
  #ops: ReadonlyMap<string, DefinitionOp> | undefined
  readonly #list: readonly DefinitionOp[]

  /** @internal */
  constructor(
    /** The serialized `pb.Definition`. */
    readonly bytes: Uint8Array,
    /** The ops in `def` order (terminal op last); the `ops` map is built from them on first use. */
    ops: readonly DefinitionOp[],
    /** Digest of the op whose output is the result; undefined for scratch. */
    readonly digest: string | undefined,
    /** Which output of that op is the result. */
    readonly outputIndex: number,
    /** Digest of the terminal op (the last element of `def`). */
    readonly terminal: string | undefined,
  ) {
    this.#list = ops
  }

  /** The ops in `def` order (depth-first post-order, terminal op last), keyed by digest. */
  get ops(): ReadonlyMap<string, DefinitionOp> {
    if (this.#ops === undefined) {
      const ops = new Map<string, DefinitionOp>()
      for (const op of this.#list) ops.set(op.digest, op)
      this.#ops = ops
    }
    return this.#ops
  }

  /** The op bytes in `def` order. */
  get def(): Uint8Array[] {
    return this.#list.map((op) => op.bytes)
  }

  /** The metadata map (`Definition.metadata`). */
  get metadata(): Record<string, PbOpMetadata> {
    return Object.fromEntries(this.#list.map((op) => [op.digest, op.metadata]))
  }

  /** toPB: the `pb.Definition` message. */
  toPB(): PbDefinition {
    return { def: this.def, metadata: this.metadata }
  }

  /** Every cap id the ops ask for, terminal op included. */
  caps(): Set<string> {
    const caps = new Set<string>()
    for (const op of this.#list) for (const cap of Object.keys(op.metadata.caps ?? {})) caps.add(cap)
    return caps
  }

  /** `buildctl debug dump-llb` output: one JSON object per op, one per line. */
  dumpJson(): string {
    return dumpJsonOps(this.#list.slice())
  }

  /** `buildctl debug dump-llb --dot` output. */
  dumpDot(): string {
    return dumpDotOps(this.#list.slice())
  }
}

/**
 * What a marshal leaves behind for ops written directly (without a PbOp tree): the context and, in post-order, each
 * visited vertex with its op, so `DefinitionOp.op` can be built on demand with the same input digests.
 */
class MarshalSnapshot {
  #context: BuildContext | undefined

  constructor(
    private readonly platform: Platform,
    private readonly localUniqueId: string,
    private readonly caps: EngineCaps | ReadonlySet<string> | undefined,
  ) {}

  /** The visited vertices (original, not lowered) and their ops, filled once the marshal has built every op. */
  readonly vertices: Vertex[] = []
  readonly ops: DefinitionOp[] = []

  context(): BuildContext {
    if (this.#context === undefined) {
      const byVertex = new Map<Vertex, DefinitionOp>()
      for (let i = 0; i < this.vertices.length; i++) byVertex.set(this.vertices[i] as Vertex, this.ops[i] as DefinitionOp)
      const caps = this.caps
      const enabled = caps === undefined ? undefined : caps instanceof Set ? (caps as ReadonlySet<string>) : (caps as EngineCaps).enabled
      const disabled = caps === undefined || caps instanceof Set ? undefined : (caps as EngineCaps).disabled
      this.#context = {
        platform: this.platform,
        localUniqueId: this.localUniqueId,
        hasCaps: caps !== undefined,
        support: (cap) => (enabled === undefined || enabled.has(cap) ? 'enabled' : disabled?.has(cap) ? 'disabled' : 'absent'),
        input(output: Output): PbInput {
          const op = byVertex.get(output.vertex)
          if (op === undefined) throw new Error('llb: input was not marshalled')
          return output.index === 0 ? { digest: op.digest } : { digest: op.digest, index: output.index }
        },
      }
    }
    return this.#context
  }
}

/**
 * A {@link DefinitionOp}. Kept small, as a large graph holds thousands: the bytes are a place in a shared buffer (a
 * view is made on first use), the digest string is made on first use from its hex digits, and for directly written
 * ops `op` and `name` are worked out on first use.
 */
class MarshalledOp implements DefinitionOp {
  #bytes: Uint8Array | undefined
  #digest: string | undefined
  #op: PbOp | undefined
  #name: string | undefined

  constructor(
    /** @internal The digest's 64 hex digits: a flat string, compared and written by marshal. */
    readonly hex: string,
    /** @internal Where the bytes are. */
    readonly buffer: ArrayBufferLike,
    readonly offset: number,
    readonly length: number,
    /** @internal Whether `0a <length>` (the `Definition.def` header) is right before the bytes in `buffer`. */
    readonly framed: boolean,
    readonly metadata: PbOpMetadata,
    op: PbOp | undefined,
    name: string | undefined,
    private readonly target: DirectVertex | undefined,
    private readonly snapshot: MarshalSnapshot | undefined,
  ) {
    this.#op = op
    this.#name = name
  }

  get digest(): string {
    return (this.#digest ??= `sha256:${this.hex}`)
  }

  get bytes(): Uint8Array {
    return (this.#bytes ??= new Uint8Array(this.buffer, this.offset, this.length))
  }

  get op(): PbOp {
    return (this.#op ??= (this.target as DirectVertex).build((this.snapshot as MarshalSnapshot).context()).op)
  }

  get name(): string {
    return (this.#name ??= (this.target as DirectVertex).options.customName ?? (this.target as DirectVertex).opName())
  }

  /** The same op with other metadata (identical ops merged). */
  withMetadata(metadata: PbOpMetadata): MarshalledOp {
    return new MarshalledOp(this.hex, this.buffer, this.offset, this.length, this.framed, metadata, this.#op, this.#name, this.target, this.snapshot)
  }
}

let processUniqueId: string | undefined
let marshalEpoch = 0

/**
 * What an op's bytes depend on besides the graph: the default platform, the engine's caps and the local unique id.
 * Interned, so a vertex's memo is valid for a marshal when its `context` is the same object.
 */
interface ContextKey {
  readonly key: string
}

const contextKeys = new Map<string, ContextKey>()

function contextKey(platform: Platform, caps: EngineCaps | ReadonlySet<string> | undefined, localUniqueId: string): ContextKey {
  let capsKey = '-'
  if (caps) {
    const enabled = caps instanceof Set ? (caps as ReadonlySet<string>) : (caps as EngineCaps).enabled
    const disabled = caps instanceof Set ? undefined : (caps as EngineCaps).disabled
    capsKey = `${[...enabled].sort().join(',')}|${disabled ? [...disabled].map(([cap, reason]) => `${cap}=${reason}`).sort().join(',') : ''}`
  }
  const key = `${JSON.stringify(platform)}\n${capsKey}\n${localUniqueId}`
  let interned = contextKeys.get(key)
  if (!interned) {
    // A process marshals against a handful of engines and platforms; bound the table anyway.
    if (contextKeys.size >= 256) contextKeys.clear()
    interned = { key }
    contextKeys.set(key, interned)
  }
  return interned
}

const MEMO = MEMO_SLOT

/**
 * What marshal keeps on a vertex (in one symbol slot): the op it marshalled to in `context`, reused by later marshals
 * in the same context (Kiln marshals one Definition per target, and targets share sub-graphs), and the per-marshal
 * visit mark. Vertices are immutable, so an op's bytes only depend on the vertex and the context.
 */
interface Memo {
  vertex: Vertex
  /** Epoch of the marshal that last visited the vertex. */
  mark: number
  context: ContextKey | undefined
  target: Vertex
  /** The op as marshalled in `context`; undefined until built. */
  op: MarshalledOp | undefined
  /** The first 28 bits of the digest, for sorting without string compares. */
  key: number
  /** Per marshal: the memo standing for this digest (the first in post-order), and its op with merged metadata. */
  canonical: Memo | undefined
  final: MarshalledOp | undefined
  /** Epoch of the marshal that emitted the op into `def`. */
  emitted: number
}

interface VertexSlots {
  [MEMO]?: Memo
}

function disabledReason(caps: EngineCaps | ReadonlySet<string> | undefined, cap: string): string | undefined {
  return caps && !(caps instanceof Set) ? (caps as EngineCaps).disabled?.get(cap) : undefined
}

// One-shot `crypto.hash` (Node 20.12+) is several times cheaper than a Hash object per op.
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'hex') => string }).hash

/** `sha256:<hex>` of bytes: an op's digest. */
export function digestOf(bytes: Uint8Array): string {
  return `sha256:${hexDigestOf(bytes)}`
}

/** The 64 lowercase hex digits of the SHA-256 of bytes. */
function hexDigestOf(bytes: Uint8Array): string {
  return oneShot ? oneShot('sha256', bytes, 'hex') : crypto.createHash('sha256').update(bytes).digest('hex')
}

function mergeMetadata(into: PbOpMetadata, from: PbOpMetadata): PbOpMetadata {
  const out: PbOpMetadata = { ...into }
  if (from.ignoreCache) out.ignoreCache = true
  if (from.description) out.description = { ...out.description, ...from.description }
  if (from.caps) out.caps = { ...out.caps, ...from.caps }
  if (from.progressGroup) out.progressGroup = from.progressGroup
  return out
}


/**
 * One marshal: the context vertices see (a class, so its methods are the same functions in every marshal and the
 * optimized op writers that call them stay valid) and the state of the post-order walk.
 */
class MarshalRun implements EncodeContext {
  readonly hasCaps: boolean
  readonly enabled: ReadonlySet<string> | undefined
  readonly disabled: ReadonlyMap<string, string> | undefined
  /** Marshal is synchronous: a vertex's memo is marked with this epoch once visited. */
  readonly epoch = ++marshalEpoch
  readonly order: Memo[] = []
  readonly checkedCaps = new Map<readonly string[], CheckedCaps>()
  snapshot: MarshalSnapshot | undefined = undefined
  /**
   * Whether every vertex lists its inputs in the order of its op's `Op.inputs` (direct writers; ops without
   * inputs): then the post-order of vertices, each digest once, is Go's order (step 4).
   */
  inputOrder = !marshalInternals.byteWalk

  constructor(
    readonly platform: Platform,
    readonly localUniqueId: string,
    readonly caps: EngineCaps | ReadonlySet<string> | undefined,
    readonly engine: string,
    readonly contextId: ContextKey,
  ) {
    this.hasCaps = caps !== undefined
    this.enabled = caps === undefined ? undefined : caps instanceof Set ? (caps as ReadonlySet<string>) : (caps as EngineCaps).enabled
    this.disabled = caps === undefined || caps instanceof Set ? undefined : (caps as EngineCaps).disabled
  }

  support(cap: string): CapSupport {
    if (this.enabled === undefined) return 'enabled'
    return this.enabled.has(cap) ? 'enabled' : this.disabled?.has(cap) ? 'disabled' : 'absent'
  }

  /** The memo of a vertex marshalled in this run (its inputs come first: post-order). */
  private marshalled(output: Output): MarshalledOp {
    const memo = (output.vertex as unknown as VertexSlots)[MEMO]
    if (memo === undefined || memo.mark !== this.epoch || memo.op === undefined) throw new Error('llb: input marshalled out of order')
    return memo.op
  }

  input(output: Output): PbInput {
    const op = this.marshalled(output)
    return output.index === 0 ? { digest: op.digest } : { digest: op.digest, index: output.index }
  }

  hex(output: Output): string {
    return this.marshalled(output).hex
  }
}

/** Marks a vertex visited in this run and returns its memo, lowering the vertex when the context changed. */
function visit(run: MarshalRun, vertex: Vertex): Memo {
  const slots = vertex as unknown as VertexSlots
  let memo = slots[MEMO]
  if (memo === undefined) {
    memo = { vertex, mark: run.epoch, context: run.contextId, target: vertex, op: undefined, key: 0, canonical: undefined, final: undefined, emitted: 0 }
    slots[MEMO] = memo
  } else {
    memo.mark = run.epoch
    if (memo.context === run.contextId) return memo
    memo.context = run.contextId
    memo.op = undefined
  }
  memo.target = (run.hasCaps && vertex.lower?.(run)) || vertex
  return memo
}

/**
 * Checks the caps of a vertex whose inputs are marshalled, serializes and hashes it (unless it was marshalled in
 * this context before). Exec, file and merge ops write their bytes directly (their PbOp is built only if
 * `DefinitionOp.op` is read); other ops are built, then encoded.
 */
function marshalVertex(run: MarshalRun, memo: Memo, inputCount: number): void {
  run.order.push(memo)
  const target = memo.target
  const direct = isDirectVertex(target)
  if (!direct && inputCount > 0) run.inputOrder = false
  if (memo.op !== undefined) return
  let hex: string
  let bytes: Uint8Array
  if (direct) {
    const opCaps = target.opCaps(run)
    const checked = run.checkedCaps.get(opCaps) ?? checkOpCaps(run, opCaps, target.opName(), target.options, target)
    startOp(opWriter)
    target.writeOp(run, opWriter)
    bytes = takeOp(opWriter)
    hex = hexDigestOf(bytes)
    const metadata = hasOpOptions(target.options) ? metadataToPB(target.options, checked.caps) : checked.plain
    memo.op = new MarshalledOp(hex, bytes.buffer, bytes.byteOffset, bytes.length, lastOpFramed(), metadata, undefined, undefined, target, (run.snapshot ??= new MarshalSnapshot(run.platform, run.localUniqueId, run.caps)))
  } else {
    const built = target.build(run)
    const checked = run.checkedCaps.get(built.caps) ?? checkOpCaps(run, built.caps, built.name, built.options, target)
    bytes = encodeOp(built.op)
    hex = hexDigestOf(bytes)
    const metadata = hasOpOptions(built.options) ? metadataToPB(built.options, checked.caps) : checked.plain
    memo.op = new MarshalledOp(hex, bytes.buffer, bytes.byteOffset, bytes.length, false, metadata, built.op, built.options.customName ?? built.name, undefined, undefined)
  }
  memo.key = hexKey(hex)
}

/**
 * 1. Vertices in post-order (inputs first), lowering each once per context, each marshalled as soon as its inputs
 * are. Iterative: chains may be 100k+ deep.
 */
function postOrder(run: MarshalRun, result: Vertex): void {
  // Parallel stacks (memo, its inputs, next input) instead of one tuple per vertex.
  const stackMemo: Memo[] = [visit(run, result)]
  const stackInputs: (readonly Output[])[] = [(stackMemo[0] as Memo).target.inputs()]
  const stackNext: number[] = [0]
  const epoch = run.epoch
  while (stackMemo.length > 0) {
    const top = stackMemo.length - 1
    const inputs = stackInputs[top] as readonly Output[]
    const next = stackNext[top] as number
    if (next < inputs.length) {
      stackNext[top] = next + 1
      const child = (inputs[next] as Output).vertex
      if ((child as unknown as VertexSlots)[MEMO]?.mark !== epoch) {
        const memo = visit(run, child)
        stackMemo.push(memo)
        stackInputs.push(memo.target.inputs())
        stackNext.push(0)
      }
      continue
    }
    stackInputs.pop()
    stackNext.pop()
    marshalVertex(run, stackMemo.pop() as Memo, inputs.length)
  }
}

/** Fills the snapshot once every op is known: it resolves the inputs of directly written ops on demand. */
function fillSnapshot(run: MarshalRun): void {
  const snapshot = run.snapshot
  if (snapshot === undefined) return
  const order = run.order
  for (let n = 0; n < order.length; n++) {
    const memo = order[n] as Memo
    snapshot.vertices.push(memo.vertex)
    snapshot.ops.push(memo.op as DefinitionOp)
  }
}

/**
 * 3. Given the memos sorted by digest (numbers, not strings: the first 28 bits, then the index), one canonical memo
 * per digest (identical ops: one digest, merged metadata), in digest order: the metadata map's order.
 */
function dedupe(sorted: readonly Memo[]): Memo[] {
  const canonical: Memo[] = []
  for (let i = 0; i < sorted.length; i++) {
    const memo = sorted[i] as Memo
    const previous = canonical[canonical.length - 1]
    const op = memo.op as MarshalledOp
    if (previous !== undefined && previous.key === memo.key && (previous.op as MarshalledOp).hex === op.hex) {
      memo.canonical = previous
      // `sorted` keeps post-order among equal digests, so metadata merges in the order Go's emitter sees it.
      const into = previous.final as MarshalledOp
      previous.final = into.withMetadata(mergeMetadata(into.metadata, op.metadata))
      continue
    }
    memo.canonical = memo
    memo.final = op
    canonical.push(memo)
  }
  return canonical
}

/**
 * 4. Go's order (depth-first post-order by content from the result, each digest once) when every vertex reads its
 * inputs in its op's order: the vertices' post-order once repeated digests are dropped (a vertex with the digest of
 * an earlier one has inputs of the same digests, all emitted already). The canonical memo of a digest is the first
 * in post-order.
 */
function orderFromVertices(run: MarshalRun): MarshalledOp[] {
  const order = run.order
  const list: MarshalledOp[] = []
  for (let n = 0; n < order.length; n++) {
    const memo = order[n] as Memo
    if (memo.canonical !== memo) continue
    memo.emitted = run.epoch
    list.push(memo.final as MarshalledOp)
  }
  return list
}

/**
 * 4. Go's order in general: inputs are read from the op bytes (`Op.inputs` comes first) and found by digest with a
 * binary search of the sorted ops.
 */
function orderFromBytes(run: MarshalRun, canonical: readonly Memo[], resultMemo: Memo): MarshalledOp[] {
  const epoch = run.epoch
  const list: MarshalledOp[] = []
  const canonicalKeys = new Float64Array(canonical.length)
  for (let i = 0; i < canonical.length; i++) canonicalKeys[i] = (canonical[i] as Memo).key
  const walkMemo: Memo[] = [resultMemo]
  const walkNext: number[] = [0]
  resultMemo.emitted = epoch
  while (walkMemo.length > 0) {
    const top = walkMemo.length - 1
    const current = walkMemo[top] as Memo
    const final = current.final as MarshalledOp
    const bytes = final.bytes
    const next = walkNext[top] as number
    if (next < bytes.length && bytes[next] === 0x0a) {
      let position = next + 1
      let length = 0
      for (let shift = 0; ; shift += 7) {
        const byte = bytes[position++] as number
        length += (byte & 127) * 2 ** shift
        if (byte < 128) break
      }
      walkNext[top] = position + length
      const child = bytes[position] === 0x0a && bytes[position + 1] === DIGEST_LENGTH && length >= 2 + DIGEST_LENGTH
        ? findDigestBytes(canonical, canonicalKeys, bytes, position + 2)
        : findDigest(canonical, canonicalKeys, decode<PbInput>('Input', bytes.subarray(position, position + length)).digest ?? '')
      if (child.emitted !== epoch) {
        child.emitted = epoch
        walkMemo.push(child)
        walkNext.push(0)
      }
      continue
    }
    walkMemo.pop()
    walkNext.pop()
    list.push(final)
  }
  return list
}

/** The terminal op's caps: `constraints` and `platform`, plus the metadata features any op uses. */
function terminalCapsOf(list: readonly MarshalledOp[]): Record<string, boolean> {
  let ignoreCache = false
  let description = false
  let exportCache = false
  for (let i = 0; i < list.length; i++) {
    const metadata = (list[i] as MarshalledOp).metadata
    if (metadata.ignoreCache) ignoreCache = true
    if (metadata.description) description = true
    if (metadata.exportCache) exportCache = true
  }
  const caps: Record<string, boolean> = { constraints: true, platform: true }
  if (ignoreCache) caps['meta.ignorecache'] = true
  if (description) caps['meta.description'] = true
  if (exportCache) caps['meta.exportcache'] = true
  return caps
}

/**
 * The metadata map in digest order: the emitted ops (a vertex may list an input its op does not use), with the
 * terminal op at its place.
 */
function metadataOrder(canonical: readonly Memo[], epoch: number, terminalDef: MarshalledOp, terminalKey: number): MarshalledOp[] {
  const byDigest: MarshalledOp[] = []
  let placed = false
  for (let i = 0; i < canonical.length; i++) {
    const memo = canonical[i] as Memo
    if (memo.emitted !== epoch) continue
    const op = memo.final as MarshalledOp
    // Keys first: comparing the digest strings themselves would flatten them.
    if (!placed && (terminalKey < memo.key || (terminalKey === memo.key && terminalDef.hex < op.hex))) {
      byDigest.push(terminalDef)
      placed = true
    }
    byDigest.push(op)
  }
  if (!placed) byDigest.push(terminalDef)
  return byDigest
}

/** @internal Implements {@link State.marshal}. */
export function marshalState(state: State, options: MarshalOptions): Definition {
  const engine = options.engine ?? 'the engine'
  const platform = options.platform === undefined ? defaultPlatform() : normalizePlatform(options.platform)
  const localUniqueId = options.localUniqueId ?? (processUniqueId ??= crypto.randomBytes(13).toString('hex'))
  const run = new MarshalRun(platform, localUniqueId, options.caps, engine, contextKey(platform, options.caps, localUniqueId))
  const epoch = run.epoch
  const memoOf = (vertex: Vertex) => (vertex as unknown as VertexSlots)[MEMO]
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DEFINITION_BYTES
  const result = state.output()
  if (!result) return new Definition(encode('Definition', {}), [], undefined, 0, undefined)

  postOrder(run, result.vertex)
  fillSnapshot(run)
  // Each step below is its own function: marshal runs once per graph, and small functions are optimized as a whole
  // instead of one large function being compiled on the stack (OSR) again and again.
  const canonical = dedupe(sortByDigest(run.order))
  const resultMemo = (memoOf(result.vertex) as Memo).canonical as Memo
  const resultDigest = (resultMemo.op as DefinitionOp).digest
  const list = run.inputOrder ? orderFromVertices(run) : orderFromBytes(run, canonical, resultMemo)
  const terminalOp: PbOp = { inputs: [result.index === 0 ? { digest: resultDigest } : { digest: resultDigest, index: result.index }] }
  const terminalBytes = encode('Op', terminalOp)
  const terminalHex = hexDigestOf(terminalBytes)
  const terminalKey = hexKey(terminalHex)
  const terminalCaps = terminalCapsOf(list)
  const terminalDef = new MarshalledOp(terminalHex, terminalBytes.buffer, terminalBytes.byteOffset, terminalBytes.length, false, { caps: terminalCaps }, terminalOp, 'terminal', undefined, undefined)
  const terminal = terminalDef.digest
  list.push(terminalDef)

  const byDigest = metadataOrder(canonical, epoch, terminalDef, terminalKey)
  const bytes = encodeDefinition(list, byDigest)
  if (bytes.length > maxBytes) {
    const largest = list.reduce((a, b) => (b.bytes.length > a.bytes.length ? b : a))
    throw new LlbError(
      'LLB_DEFINITION_TOO_LARGE',
      `Expected the LLB definition to fit the ${maxBytes}-byte message limit of ${engine}, received ${bytes.length} bytes ` +
        `(${list.length} ops; the largest is "${largest.name}" with ${largest.bytes.length} bytes). ` +
        'Move large file contents into a local source instead of mkfile.',
      { size: bytes.length, limit: maxBytes, engine, op: largest.name },
    )
  }
  return new Definition(bytes, list, resultDigest, result.index, terminal)
}

/**
 * The caps an op sends, sorted: those the engine has enabled (all without caps), minus the ones never sent. Throws
 * `LLB_UNSUPPORTED_CAP` for a cap the engine lacks, except merge and diff on engines that have them disabled.
 */
function checkCaps(opCaps: readonly string[], name: string, options: OpOptions, target: Vertex, context: BuildContext, engineCaps: MarshalOptions['caps'], engine: string): readonly string[] {
  const caps: string[] = []
  for (const cap of opCaps) {
    if (NEVER_SEND_CAPS.has(cap)) continue
    const stand = context.support(cap)
    if (stand === 'enabled') caps.push(cap)
    else if (stand === 'disabled' && (cap === 'mergeop' || cap === 'diffop')) continue // builds without the cap (wire doc 13.6)
    else throw unsupported(cap, stand, name, options, target, engine, disabledReason(engineCaps, cap))
  }
  return caps.sort()
}

/** Checks a cap list (once per marshal: lists are interned) and keeps the result in the run. */
function checkOpCaps(run: MarshalRun, opCaps: readonly string[], name: string, options: OpOptions, target: Vertex): CheckedCaps {
  const caps = checkCaps(opCaps, name, options, target, run, run.caps, run.engine)
  const entry: CheckedCaps = { caps, plain: metadataToPB({}, caps) }
  run.checkedCaps.set(opCaps, entry)
  return entry
}

const opWriter = new Writer(64)

/** @internal Switches for tests. `byteWalk`: always find Go's order by reading op inputs from their bytes. */
export const marshalInternals = { byteWalk: false }
/** The length of a `sha256:<64 hex>` digest. */
const DIGEST_LENGTH = 71

/** Encoded `OpMetadata` values by object: most ops share a handful of frozen metadata objects. */
const metadataBytes = new WeakMap<PbOpMetadata, Uint8Array>()

let lastMetadata: PbOpMetadata | undefined
let lastMetadataBytes: Uint8Array | undefined

function encodedMetadata(metadata: PbOpMetadata, writer: Writer): Uint8Array {
  // Neighbouring ops mostly share one frozen metadata object: skip the WeakMap for a repeat.
  if (metadata === lastMetadata) return lastMetadataBytes as Uint8Array
  let bytes = metadataBytes.get(metadata)
  if (bytes === undefined) {
    writer.reset()
    encodeMessage(writer, 'OpMetadata', metadata)
    bytes = writer.finish()
    if (!Object.isFrozen(metadata)) return bytes
    metadataBytes.set(metadata, bytes)
  }
  lastMetadata = metadata
  lastMetadataBytes = bytes
  return bytes
}

const metadataWriter = new Writer(1024)

/**
 * Serializes `pb.Definition` straight from the ops (def in order, metadata in digest order): the same bytes as
 * `encode('Definition', …)` without building a 10k-key object first.
 */
function encodeDefinition(list: readonly MarshalledOp[], byDigest: readonly MarshalledOp[]): Uint8Array {
  // The exact size first, so the Definition is written into one buffer that is handed over without a copy.
  let size = 0
  for (let i = 0; i < list.length; i++) {
    const length = (list[i] as MarshalledOp).length
    size += 1 + varintSize(length) + length
  }
  const metadata: Uint8Array[] = new Array<Uint8Array>(byDigest.length)
  for (let i = 0; i < byDigest.length; i++) {
    const op = byDigest[i] as MarshalledOp
    const bytes = encodedMetadata(op.metadata, metadataWriter)
    metadata[i] = bytes
    const entry = 2 + DIGEST_LENGTH + 1 + varintSize(bytes.length) + bytes.length
    size += 1 + varintSize(entry) + entry
  }
  const writer = Writer.exact(size)
  // Ops written one after another sit in their slab as ready `def` entries: copy each run of them at once.
  let run: ArrayBufferLike | undefined
  let runStart = 0
  let runEnd = 0
  for (let i = 0; i < list.length; i++) {
    const op = list[i] as MarshalledOp
    if (op.framed) {
      const start = op.offset - 1 - varintSize(op.length)
      if (op.buffer === run && start === runEnd) {
        runEnd = op.offset + op.length
        continue
      }
      if (run !== undefined) writer.copy(run, runStart, runEnd - runStart)
      run = op.buffer
      runStart = start
      runEnd = op.offset + op.length
      continue
    }
    if (run !== undefined) writer.copy(run, runStart, runEnd - runStart)
    run = undefined
    writer.uint32(0x0a) // Definition.def
    writer.uint32(op.length)
    writer.copy(op.buffer, op.offset, op.length)
  }
  if (run !== undefined) writer.copy(run, runStart, runEnd - runStart)
  for (let i = 0; i < byDigest.length; i++) {
    const op = byDigest[i] as MarshalledOp
    writer.uint32(0x12) // Definition.metadata entry
    const entry = writer.begin()
    writer.uint32(0x0a)
    writer.digest(op.hex)
    writer.uint32(0x12)
    writer.bytes(metadata[i] as Uint8Array)
    writer.end(entry)
  }
  return writer.finish()
}

function varintSize(value: number): number {
  let size = 1
  for (let v = value >>> 7; v > 0; v >>>= 7) size++
  return size
}

/** Caps checked for one `BuiltOp.caps` list, and the metadata of ops without options. */
interface CheckedCaps {
  readonly caps: readonly string[]
  readonly plain: PbOpMetadata
}

function hasOpOptions(options: OpOptions): boolean {
  return options.customName !== undefined || options.description !== undefined || options.ignoreCache === true || options.progressGroup !== undefined
}

/** The first 28 bits of a digest, from its hex digits (a small integer: fields holding it stay Smi-typed). */
function hexKey(hex: string): number {
  let key = 0
  for (let i = 0; i < KEY_DIGITS; i++) {
    const c = hex.charCodeAt(i)
    key = key * 16 + (c <= 57 ? c - 48 : c - 87)
  }
  return key
}

/** Hex digits in a sort key. */
const KEY_DIGITS = 7
const INDEX_BITS = 2 ** 21

/**
 * Memos in digest order, and in post-order among equal digests. Packs (28-bit key, index) into one double and
 * sorts a Float64Array natively; runs with equal keys (rare) are then ordered by the full digest.
 */
function sortByDigest(order: readonly Memo[]): Memo[] {
  const n = order.length
  if (n >= INDEX_BITS) {
    return order.slice().sort((a, b) => {
      const da = (a.op as MarshalledOp).hex
      const db = (b.op as MarshalledOp).hex
      return da < db ? -1 : da > db ? 1 : 0
    })
  }
  const packed = new Float64Array(n)
  for (let i = 0; i < n; i++) packed[i] = (order[i] as Memo).key * INDEX_BITS + i
  packed.sort()
  const sorted = new Array<Memo>(n)
  for (let i = 0; i < n; i++) sorted[i] = order[(packed[i] as number) % INDEX_BITS] as Memo
  for (let i = 0; i < n - 1; ) {
    let j = i + 1
    const key = (sorted[i] as Memo).key
    while (j < n && (sorted[j] as Memo).key === key) j++
    if (j - i > 1) {
      // Stable: equal digests keep post-order.
      const run = sorted.slice(i, j).sort((a, b) => {
        const da = (a.op as MarshalledOp).hex
        const db = (b.op as MarshalledOp).hex
        return da < db ? -1 : da > db ? 1 : 0
      })
      for (let k = 0; k < run.length; k++) sorted[i + k] = run[k] as Memo
    }
    i = j
  }
  return sorted
}

/**
 * The canonical memo of the digest written as ASCII at `bytes[offset]`: a binary search on the sorted canonical memos
 * by their packed sort keys, then the rest of the hex digits.
 */
function findDigestBytes(canonical: readonly Memo[], keys: Float64Array, bytes: Uint8Array, offset: number): Memo {
  let key = 0
  for (let i = offset + 7; i < offset + 7 + KEY_DIGITS; i++) {
    const c = bytes[i] as number
    key = key * 16 + (c <= 57 ? c - 48 : c - 87)
  }
  let low = 0
  let high = canonical.length - 1
  while (low <= high) {
    const middle = (low + high) >>> 1
    const other = keys[middle] as number
    if (other !== key) {
      if (other < key) low = middle + 1
      else high = middle - 1
      continue
    }
    const memo = canonical[middle] as Memo
    const otherHex = (memo.op as MarshalledOp).hex
    let order = 0
    for (let i = KEY_DIGITS; order === 0 && i < 64; i++) order = otherHex.charCodeAt(i) - (bytes[offset + 7 + i] as number)
    if (order === 0) return memo
    if (order < 0) low = middle + 1
    else high = middle - 1
  }
  throw notMarshalled(Buffer.from(bytes.buffer, bytes.byteOffset + offset, DIGEST_LENGTH).toString('latin1'))
}

/** The canonical memo of a digest given as a string (see {@link findDigestBytes}). */
function findDigest(canonical: readonly Memo[], keys: Float64Array, digest: string): Memo {
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw notMarshalled(digest)
  return findDigestBytes(canonical, keys, Buffer.from(digest, 'latin1'), 0)
}

function notMarshalled(digest: string): Error {
  return new Error(`llb: input ${digest} was not marshalled`)
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
