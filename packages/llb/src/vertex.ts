import { encode, type Writer } from './pb/codec.js'
import { platformToPB, type Platform } from './platform.js'
import type { PbInput, PbMeta, PbMount, PbOp, PbOpMetadata } from './pb/types.js'

/** Per-op metadata, accepted by every op constructor. Metadata never changes an op's digest. */
export interface OpOptions {
  /** The vertex name shown in progress (`llb.customname`). */
  customName?: string
  /** Free-form description entries (`OpMetadata.description`). */
  description?: Readonly<Record<string, string>>
  /** Run this op again even when its result is cached. */
  ignoreCache?: boolean
  /** Group this op's progress with others (BuildKit v0.10+; older engines ignore it). */
  progressGroup?: { id: string; name?: string; weak?: boolean }
}

/** How an engine stands on a cap: enabled, advertised but disabled, or not advertised at all. */
export type CapSupport = 'enabled' | 'disabled' | 'absent'

/** What a vertex sees while it is marshalled. */
export interface BuildContext {
  /** The platform of ops that have none of their own. */
  readonly platform: Platform
  /** The `local.unique` value for local sources without a session. */
  readonly localUniqueId: string
  /** False when marshal was given no engine caps: then nothing is checked or lowered. */
  readonly hasCaps: boolean
  /** The engine's stand on a cap; `'enabled'` for every cap when there are no caps. */
  support(cap: string): CapSupport
  /** The `pb.Input` (digest and output index) of an output whose vertex was marshalled already. */
  input(output: Output): PbInput
}

/** What a vertex marshals to. */
export interface BuiltOp {
  /** The op, inputs included. */
  readonly op: PbOp
  /** Caps the op needs, before they are checked against the engine. */
  readonly caps: readonly string[]
  /** The vertex name (what BuildKit shows unless a custom name is set). */
  readonly name: string
  readonly options: OpOptions
}

/**
 * A node of the LLB graph before marshalling. Ops are immutable; a vertex's digest depends only on its content and
 * its inputs' digests, never on object identity.
 */
export interface Vertex {
  /** The kind of op: `source`, `exec`, `file`, `merge`, `diff`. */
  readonly kind: string
  /** The outputs this vertex reads, in a stable order. */
  inputs(): readonly Output[]
  /** A replacement vertex when the engine lacks a feature that can be lowered faithfully. */
  lower?(context: BuildContext): Vertex | undefined
  /** Marshals the vertex; its inputs are already marshalled. */
  build(context: BuildContext): BuiltOp
}

/** @internal What a direct op writer sees: the build context plus the digest of each marshalled input. */
export interface EncodeContext extends BuildContext {
  /** The 64 hex digits of the digest of the op behind an output whose vertex was marshalled already. */
  hex(output: Output): string
}

/**
 * @internal A vertex that serializes its op straight into a writer, without building a `PbOp` tree first (exec and
 * file ops: most of a large graph). `build` stays the reference: `writeOp` must give exactly
 * `encode('Op', build(context).op)` (property-tested), and marshal calls `build` only when someone reads
 * `DefinitionOp.op`.
 */
export interface DirectVertex extends Vertex {
  readonly options: OpOptions
  /** The caps the op needs in `context`: the same (interned) list as `build(context).caps`. */
  opCaps(context: BuildContext): readonly string[]
  /** The vertex name: `build(context).name`. */
  opName(): string
  /** Appends the serialized Op to `writer`. */
  writeOp(context: EncodeContext, writer: Writer): void
}

/** @internal */
export function isDirectVertex(vertex: Vertex): vertex is DirectVertex {
  return typeof (vertex as Partial<DirectVertex>).writeOp === 'function'
}

// The inputs of the op being written (one op at a time: writers are synchronous and do not nest).
const inputHexes: string[] = []
const inputIndexes: number[] = []
let inputCount = 0

/** @internal Starts the `Op.inputs` of a direct op writer. */
export function beginInputs(): void {
  inputCount = 0
}

/** @internal How many inputs the op being written has so far. */
export function inputsWritten(): number {
  return inputCount
}

/**
 * @internal The position of input (digest given by its hex digits, index) in the op being written, appending it as
 * an `Op.inputs` entry when it is new: Go dedups inputs by both, in order of first use. Call before writing any other
 * Op field.
 */
export function writeInput(writer: Writer, hex: string, index: number): number {
  for (let i = 0; i < inputCount; i++) if (inputHexes[i] === hex && inputIndexes[i] === index) return i
  inputHexes[inputCount] = hex
  inputIndexes[inputCount] = index
  writeInputEntry(writer, hex, index)
  return inputCount++
}

/** @internal One `Op.inputs` entry, without deduplication (merge ops list an input once per use). */
export function writeInputEntry(writer: Writer, hex: string, index: number): void {
  writer.uint32(0x0a) // Op.inputs
  const start = writer.begin()
  writer.uint32(0x0a) // Input.digest
  writer.digest(hex)
  if (index !== 0) {
    writer.uint32(0x10) // Input.index
    writer.int64(index)
  }
  writer.end(start)
}

/**
 * @internal The slot where marshal keeps its memo of a vertex (marshal.ts). This package's vertex classes declare
 * it, so it lives in the object: adding it on first marshal would give every vertex a new hidden class and an
 * out-of-object property store. Other vertices get it as an ordinary property.
 */
export const MEMO_SLOT: unique symbol = Symbol('kiln.llb.marshal.memo')

let tailPlatform: Platform | undefined
let tailBytes: Uint8Array | undefined

/**
 * @internal The end of every non-terminal op: `Op.platform` (field 10) and the empty `Op.constraints` (field 11),
 * pre-encoded per Platform object (most ops of a marshal share one).
 */
export function writePlatformTail(writer: Writer, platform: Platform): void {
  if (platform !== tailPlatform) {
    const pb = encode('Platform', platformToPB(platform))
    if (pb.length >= 128) {
      // Unusual (many OS features): no one-byte length, no template.
      writer.uint32(0x52)
      writer.bytes(pb)
      writer.uint32(0x5a)
      writer.uint32(0)
      return
    }
    const tail = new Uint8Array(pb.length + 4)
    tail[0] = 0x52
    tail[1] = pb.length
    tail.set(pb, 2)
    tail[pb.length + 2] = 0x5a
    tail[pb.length + 3] = 0
    tailPlatform = platform
    tailBytes = tail
  }
  writer.raw(tailBytes as Uint8Array)
}

/** One output of a vertex. */
export interface Output {
  readonly vertex: Vertex
  readonly index: number
}

const internedCaps = new Map<string, readonly string[]>()

/**
 * @internal One shared, frozen array per cap list: marshal checks each distinct list against the engine once,
 * keyed by identity.
 */
export function internCaps(caps: Iterable<string>): readonly string[] {
  const list = [...caps]
  const key = list.join('\n')
  let interned = internedCaps.get(key)
  if (!interned) {
    interned = Object.freeze(list)
    internedCaps.set(key, interned)
  }
  return interned
}

const capMaps = new Map<string, Record<string, boolean>>()

/** A frozen caps map shared by every op with the same (sorted) caps. */
function capMap(caps: readonly string[]): Record<string, boolean> {
  const key = caps.join(' ')
  let map = capMaps.get(key)
  if (!map) {
    map = Object.freeze(Object.fromEntries(caps.map((cap) => [cap, true]))) as Record<string, boolean>
    capMaps.set(key, map)
  }
  return map
}

const plainMetadata = new Map<string, PbOpMetadata>()

/** toPB: the `OpMetadata` for an op's options and its checked caps (sorted). Treat the result as read-only. */
export function metadataToPB(options: OpOptions, caps: readonly string[]): PbOpMetadata {
  if (options.customName === undefined && options.description === undefined && !options.ignoreCache && options.progressGroup === undefined) {
    // Most ops carry only caps: share one frozen metadata object per cap set.
    const key = caps.join(' ')
    let shared = plainMetadata.get(key)
    if (!shared) {
      shared = Object.freeze(caps.length > 0 ? { caps: capMap(caps) } : {})
      plainMetadata.set(key, shared)
    }
    return shared
  }
  const metadata: PbOpMetadata = {}
  if (options.ignoreCache) metadata.ignoreCache = true
  const description: Record<string, string> = { ...options.description }
  if (options.customName !== undefined) description['llb.customname'] = options.customName
  if (Object.keys(description).length > 0) metadata.description = description
  if (caps.length > 0) metadata.caps = capMap(caps)
  if (options.progressGroup) {
    const { id, name, weak } = options.progressGroup
    metadata.progressGroup = { id, ...(name !== undefined ? { name } : {}), ...(weak ? { weak } : {}) }
  }
  return metadata
}

/** The options of most ops: none, shared. */
const NO_OP_OPTIONS: OpOptions = Object.freeze({})

/** Copies only the metadata fields of an options object (so op-specific options do not leak in). */
export function pickOpOptions(options: OpOptions | undefined): OpOptions {
  if (!options || (options.customName === undefined && options.description === undefined && !options.ignoreCache && options.progressGroup === undefined)) return NO_OP_OPTIONS
  const out: OpOptions = {}
  if (options.customName !== undefined) out.customName = options.customName
  if (options.description !== undefined) out.description = { ...options.description }
  if (options.ignoreCache) out.ignoreCache = true
  if (options.progressGroup !== undefined) out.progressGroup = { ...options.progressGroup }
  return out
}

/**
 * An Op with every field present in field order (unset ones `undefined`): one hidden class for all ops keeps the
 * compiled encoders' property accesses monomorphic.
 */
export function makeOp(op: PbOp): PbOp {
  return {
    inputs: op.inputs,
    exec: op.exec,
    source: op.source,
    file: op.file,
    build: op.build,
    merge: op.merge,
    diff: op.diff,
    passthrough: op.passthrough,
    platform: op.platform,
    constraints: op.constraints,
  }
}

/** A Mount with every field present in field order (see {@link makeOp}), optionally with another input. */
export function makeMount(mount: PbMount, input: number | undefined = mount.input): PbMount {
  return {
    input,
    selector: mount.selector,
    dest: mount.dest,
    output: mount.output,
    readonly: mount.readonly,
    mountType: mount.mountType,
    TmpfsOpt: mount.TmpfsOpt,
    cacheOpt: mount.cacheOpt,
    secretOpt: mount.secretOpt,
    SSHOpt: mount.SSHOpt,
    resultID: mount.resultID,
    contentCache: mount.contentCache,
  }
}

/** A Meta with every field present in field order (see {@link makeOp}), optionally with another env. */
export function makeMeta(meta: PbMeta, env: string[] | undefined = meta.env): PbMeta {
  return {
    args: meta.args,
    env,
    cwd: meta.cwd,
    user: meta.user,
    proxyEnv: meta.proxyEnv,
    extraHosts: meta.extraHosts,
    hostname: meta.hostname,
    ulimit: meta.ulimit,
    cgroupParent: meta.cgroupParent,
    removeMountStubsRecursive: meta.removeMountStubsRecursive,
    validExitCodes: meta.validExitCodes,
  }
}

/** Go's `path.Clean` for slash-separated paths. */
export function cleanPath(input: string): string {
  if (input === '') return '.'
  // Most paths are absolute and clean already: no empty, `.` or `..` element and no trailing slash.
  if (input.charCodeAt(0) === 47 && input.indexOf('//') < 0 && input.indexOf('/.') < 0 && (input.length === 1 || input.charCodeAt(input.length - 1) !== 47)) return input
  const rooted = input.startsWith('/')
  const parts: string[] = []
  for (const part of input.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop()
      else if (!rooted) parts.push('..')
      continue
    }
    parts.push(part)
  }
  const joined = parts.join('/')
  if (rooted) return `/${joined}`
  return joined === '' ? '.' : joined
}

/** Go's `path.Join`. */
export function joinPath(...elements: string[]): string {
  const nonEmpty = elements.filter((element) => element !== '')
  return nonEmpty.length === 0 ? '' : cleanPath(nonEmpty.join('/'))
}
