import { invalid } from './errors.js'
import type { Int64, PbChownOpt, PbFileAction, PbInput, PbOp, PbUserOpt } from './pb/types.js'
import { EMPTY_CONSTRAINTS, platformToPB, type Platform } from './platform.js'
import { assertState, type State } from './state.js'
import { messageEncoder, writeBool, writeInt, writeString, type Writer } from './pb/codec.js'
import {
  MEMO_SLOT, writePlatformTail,
  beginInputs, cleanPath, inputsWritten, internCaps, joinPath, makeOp, pickOpOptions, writeInput,
  type BuildContext, type BuiltOp, type DirectVertex, type EncodeContext, type OpOptions, type Output,
} from './vertex.js'

/** Owner of created files: a uid/gid number, or a user/group name resolved in the target's /etc/passwd. */
export interface Owner {
  user?: number | string
  group?: number | string
}

/** A creation time: a Date, or Unix nanoseconds as a bigint. */
export type Timestamp = Date | bigint

/** Options of {@link mkdir}. */
export interface MkdirOptions {
  /** Permission bits; default 0o755. */
  mode?: number
  /** Create missing parents (`mkdir -p`). */
  parents?: boolean
  owner?: Owner
  createdTime?: Timestamp
}

/** Options of {@link mkfile}. */
export interface MkfileOptions {
  /** Permission bits; default 0o644. */
  mode?: number
  owner?: Owner
  createdTime?: Timestamp
}

/** Options of {@link rm}. */
export interface RmOptions {
  allowNotFound?: boolean
  allowWildcard?: boolean
}

/** Options of {@link copy}. */
export interface CopyOptions {
  /** Permission bits for the copies; default: keep the source's. */
  mode?: number
  /** Symbolic mode such as `u+x` (BuildKit v0.17+). */
  modeStr?: string
  owner?: Owner
  followSymlinks?: boolean
  /** Copy a directory's contents rather than the directory itself. */
  dirContentsOnly?: boolean
  /** Unpack archives like Dockerfile ADD. */
  attemptUnpack?: boolean
  /** Create the destination's parent directories. */
  createDestPath?: boolean
  allowWildcard?: boolean
  allowEmptyWildcard?: boolean
  /** Copy only paths matching these patterns (BuildKit v0.9+). */
  include?: readonly string[]
  /** Skip paths matching these patterns (BuildKit v0.9+). */
  exclude?: readonly string[]
  /** Replace existing destination paths even when types differ (BuildKit v0.14+). */
  alwaysReplaceExistingDestPaths?: boolean
  createdTime?: Timestamp
}

type ActionSpec =
  | { kind: 'mkdir'; path: string; options: MkdirOptions }
  /** `data` is kept as given (a string is UTF-8 encoded when the op is written). */
  | { kind: 'mkfile'; path: string; data: string | Uint8Array; options: MkfileOptions }
  | { kind: 'rm'; path: string; options: RmOptions }
  | { kind: 'copy'; from: State; src: string; dest: string; options: CopyOptions }

/**
 * An immutable chain of file actions; `State.file(chain)` turns it into one FileOp whose actions apply in order,
 * each on the result of the previous one, as Go's `llb.Mkdir(…).Mkfile(…)` chains do.
 *
 * @example
 * ```ts
 * const tree = scratch().file(mkdir('/out', { parents: true }).mkfile('/out/a.txt', 'a\n').copy(src, '/app', '/out/app'))
 * ```
 */
export class FileAction {
  /** @internal */
  constructor(readonly previous: FileAction | undefined, readonly spec: ActionSpec) {}

  /** Then creates a directory. */
  mkdir(path: string, options: MkdirOptions = {}): FileAction {
    return new FileAction(this, mkdir(path, options).spec)
  }

  /** Then writes a file. */
  mkfile(path: string, data: string | Uint8Array, options: MkfileOptions = {}): FileAction {
    return new FileAction(this, mkfile(path, data, options).spec)
  }

  /** Then removes a path. */
  rm(path: string, options: RmOptions = {}): FileAction {
    return new FileAction(this, rm(path, options).spec)
  }

  /** Then copies `src` of another State to `dest`. */
  copy(from: State, src: string, dest: string, options: CopyOptions = {}): FileAction {
    return new FileAction(this, copy(from, src, dest, options).spec)
  }

  /** The actions in application order. */
  actions(): ActionSpec[] {
    const out: ActionSpec[] = [this.spec]
    for (let action = this.previous; action; action = action.previous) out.push(action.spec)
    return out.reverse()
  }
}

function checkPath(path: string, what: string): void {
  if (typeof path !== 'string' || path === '') invalid(`Expected a non-empty path for ${what}, received ${JSON.stringify(path)}`)
}

/** A file action that creates a directory. */
export function mkdir(path: string, options: MkdirOptions = {}): FileAction {
  checkPath(path, 'mkdir')
  return new FileAction(undefined, { kind: 'mkdir', path, options: copyOptions(options) })
}

const utf8 = new TextEncoder()
const NO_OPTIONS = Object.freeze({})

/** A private copy of action options (the caller may change theirs later); none share one frozen object. */
function copyOptions<T extends object>(options: T): T {
  for (const _key in options) return { ...options }
  return NO_OPTIONS as T
}

/** A file action that writes a file (its parent directory must exist). */
export function mkfile(path: string, data: string | Uint8Array, options: MkfileOptions = {}): FileAction {
  checkPath(path, 'mkfile')
  // Strings are immutable: keep them (the writer encodes them in place); copy bytes the caller could change.
  return new FileAction(undefined, { kind: 'mkfile', path, data: typeof data === 'string' ? data : data.slice(), options: copyOptions(options) })
}

/** A file action that removes a path. */
export function rm(path: string, options: RmOptions = {}): FileAction {
  checkPath(path, 'rm')
  return new FileAction(undefined, { kind: 'rm', path, options: copyOptions(options) })
}

/** A file action that copies `src` (relative paths resolve against `from`'s working directory) to `dest`. */
export function copy(from: State, src: string, dest: string, options: CopyOptions = {}): FileAction {
  checkPath(src, 'copy source')
  checkPath(dest, 'copy destination')
  assertState(from, 'copy source')
  return new FileAction(undefined, { kind: 'copy', from, src, dest, options: { ...options, include: options.include?.slice(), exclude: options.exclude?.slice() } })
}

/** Go's `normalizePath`: clean, make absolute against the working directory, keep a trailing `/` or `/.`. */
function normalizePath(parent: string, path: string, keepSlash: boolean): string {
  let out = cleanPath(path)
  if (!out.startsWith('/')) out = joinPath('/', parent, out)
  if (keepSlash) {
    if (path.endsWith('/') && !out.endsWith('/')) out += '/'
    else if (path.endsWith('/.')) {
      if (out !== '/') out += '/'
      out += '.'
    }
  }
  return out
}

function timestamp(value: Timestamp | undefined): Int64 {
  if (value === undefined) return -1
  if (typeof value === 'bigint') return value
  const ms = value.getTime()
  if (Number.isNaN(ms)) invalid('Expected a valid Date for createdTime')
  return BigInt(ms) * 1_000_000n
}

function userOpt(value: number | string, base: number): PbUserOpt {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) invalid(`Expected a uid/gid to be a non-negative integer, received ${value}`)
    return { byID: value }
  }
  if (value === '') invalid('Expected a non-empty user or group name')
  return { byName: { name: value, input: base } }
}

function chown(owner: Owner | undefined, base: number): PbChownOpt | undefined {
  if (!owner || (owner.user === undefined && owner.group === undefined)) return undefined
  return {
    ...(owner.user !== undefined ? { user: userOpt(owner.user, base) } : {}),
    ...(owner.group !== undefined ? { group: userOpt(owner.group, base) } : {}),
  }
}

interface ResolvedAction {
  readonly spec: ActionSpec
  /** Absolute paths, resolved at construction against the States' working directories. */
  readonly path: string
  readonly src: string
  readonly source: Output | undefined
}

/** The FileOp behind {@link State.file}. */
export class FileVertex implements DirectVertex {
  /** @internal */
  [MEMO_SLOT]: unknown = undefined

  /** The kind of op (on the prototype: one field less per vertex). */
  get kind(): 'file' {
    return 'file'
  }
  readonly base: Output | undefined
  readonly actions: readonly ResolvedAction[]
  readonly platform: Platform | undefined
  readonly options: OpOptions
  private readonly sourceOutputs: readonly Output[]
  #caps: readonly string[] | undefined
  #name: string | undefined

  constructor(state: State, chain: FileAction, options?: OpOptions) {
    if (!(chain instanceof FileAction) && typeof (chain as FileAction | undefined)?.actions !== 'function') invalid('Expected a FileAction chain (mkdir, mkfile, rm, copy)')
    this.base = state.output()
    this.platform = state.getPlatform()
    this.options = pickOpOptions(options)
    const parent = state.getDir()
    // Most chains are one action: no intermediate list of specs, no closure.
    const specs = chain.previous === undefined ? undefined : chain.actions()
    const count = specs === undefined ? 1 : specs.length
    const actions = new Array<ResolvedAction>(count)
    const outputs = outputScratch
    outputs.length = 0
    if (this.base) outputs.push(this.base)
    for (let i = 0; i < count; i++) {
      const spec = specs === undefined ? chain.spec : (specs[i] as ActionSpec)
      if (spec.kind === 'copy') {
        const src = spec.src.startsWith('/') ? cleanPath(spec.src) : joinPath('/', spec.from.getDir(), spec.src)
        const source = spec.from.output()
        actions[i] = { spec, path: normalizePath(parent, spec.dest, true), src, source }
        if (source && !outputs.some((known) => known.vertex === source.vertex && known.index === source.index)) outputs.push(source)
      } else {
        actions[i] = { spec, path: normalizePath(parent, spec.path, false), src: '', source: undefined }
      }
    }
    this.actions = actions
    // An array of exactly the inputs' number (one grown by push keeps spare room).
    this.sourceOutputs = outputs.length === 0 ? NO_OUTPUTS : outputs.length === 1 ? [outputs[0] as Output] : outputs.slice()
    outputs.length = 0
  }

  inputs(): readonly Output[] {
    return this.sourceOutputs
  }

  /** True when every action only adds (mkdir, mkfile, copy) onto scratch: merging its result is a plain copy. */
  isAdditiveOnScratch(): boolean {
    return this.base === undefined && this.actions.every((action) => action.spec.kind !== 'rm')
  }

  /** The caps depend on the actions only: one shared list per combination (a bit mask, no Set or key). */
  opCaps(): readonly string[] {
    if (this.#caps === undefined) {
      let mask = 1
      for (const { spec } of this.actions) {
        if (spec.kind === 'rm' && spec.options.allowWildcard) mask |= 2
        if (spec.kind !== 'copy') continue
        const o = spec.options
        if (o.include?.length || o.exclude?.length) mask |= 4
        if (o.alwaysReplaceExistingDestPaths) mask |= 8
        if (o.modeStr) mask |= 16
      }
      this.#caps = fileCapLists[mask] ??= internCaps(FILE_CAP_NAMES.filter((_name, bit) => (mask & (1 << bit)) !== 0))
    }
    return this.#caps
  }

  opName(): string {
    return (this.#name ??= fileOpName(this.actions))
  }

  writeOp(context: EncodeContext, w: Writer): void {
    beginInputs()
    // Inputs first, in order of first use, as in build().
    const base = this.base
    const baseInput = base ? writeInput(w, context.hex(base), base.index) : -1
    const actions = this.actions
    for (let i = 0; i < actions.length; i++) {
      const action = actions[i] as ResolvedAction
      const source = action.spec.kind === 'copy' ? action.source : undefined
      secondaryInputs[i] = source ? writeInput(w, context.hex(source), source.index) : -1
    }
    const count = inputsWritten()
    w.uint32(0x22) // Op.file
    const file = w.begin()
    for (let i = 0; i < actions.length; i++) {
      const action = actions[i] as ResolvedAction
      const input = i === 0 ? baseInput : count + i - 1
      w.uint32(0x12) // FileOp.actions
      const start = w.begin()
      writeInt(w, 0x08, input)
      writeInt(w, 0x10, secondaryInputs[i] as number)
      writeInt(w, 0x18, i === actions.length - 1 ? 0 : -1)
      writeAction(w, action, input)
      w.end(start)
    }
    w.end(file)
    writePlatformTail(w, this.platform ?? context.platform)
  }

  build(context: BuildContext): BuiltOp {
    const inputs: PbInput[] = []
    const inputIndex = (output: Output | undefined): number => {
      if (!output) return -1
      const input = context.input(output)
      const at = inputs.findIndex((known) => known.digest === input.digest && (known.index ?? 0) === (input.index ?? 0))
      if (at >= 0) return at
      inputs.push(input)
      return inputs.length - 1
    }
    // Inputs first, in order of first use, as Go's marshalState adds them; relative indexes need their count.
    const baseInput = inputIndex(this.base)
    const secondary = this.actions.map((action) => (action.spec.kind === 'copy' ? inputIndex(action.source) : -1))
    const actions: PbFileAction[] = this.actions.map((action, i) => {
      const input = i === 0 ? baseInput : inputs.length + i - 1
      const pb: PbFileAction = { input, secondaryInput: secondary[i] as number, output: i === this.actions.length - 1 ? 0 : -1 }
      const { spec } = action
      switch (spec.kind) {
        case 'mkdir':
          pb.mkdir = { path: action.path, mode: (spec.options.mode ?? 0o755) & 0o777, makeParents: spec.options.parents ?? false, owner: chown(spec.options.owner, input), timestamp: timestamp(spec.options.createdTime) }
          break
        case 'mkfile':
          pb.mkfile = { path: action.path, mode: (spec.options.mode ?? 0o644) & 0o777, data: typeof spec.data === 'string' ? utf8.encode(spec.data) : spec.data, owner: chown(spec.options.owner, input), timestamp: timestamp(spec.options.createdTime) }
          break
        case 'rm':
          pb.rm = { path: action.path, allowNotFound: spec.options.allowNotFound ?? false, allowWildcard: spec.options.allowWildcard ?? false }
          break
        case 'copy': {
          const o = spec.options
          pb.copy = {
            src: action.src,
            dest: action.path,
            owner: chown(o.owner, input),
            mode: o.mode ?? -1,
            followSymlink: o.followSymlinks ?? false,
            dirCopyContents: o.dirContentsOnly ?? false,
            attemptUnpackDockerCompatibility: o.attemptUnpack ?? false,
            createDestPath: o.createDestPath ?? false,
            allowWildcard: o.allowWildcard ?? false,
            allowEmptyWildcard: o.allowEmptyWildcard ?? false,
            timestamp: timestamp(o.createdTime),
            includePatterns: o.include ? [...o.include] : [],
            excludePatterns: o.exclude ? [...o.exclude] : [],
            alwaysReplaceExistingDestPaths: o.alwaysReplaceExistingDestPaths ?? false,
            modeStr: o.modeStr ?? '',
          }
          break
        }
      }
      return pb
    })
    const op: PbOp = makeOp({ inputs, file: { actions }, platform: platformToPB(this.platform ?? context.platform), constraints: EMPTY_CONSTRAINTS })
    return { op, caps: this.opCaps(), name: this.opName(), options: this.options }
  }
}

const FILE_CAP_NAMES = ['file.base', 'file.rm.wildcard', 'file.copy.includeexcludepatterns', 'file.copy.alwaysreplaceexistingdestpaths', 'file.copy.modestring'] as const
const fileCapLists: (readonly string[] | undefined)[] = []
const NO_OUTPUTS: readonly Output[] = Object.freeze([])
const outputScratch: Output[] = []

/** The secondary input of each action of the op being written; see {@link FileVertex.writeOp}. */
const secondaryInputs: number[] = []
let chownEncoder: ((w: Writer, value: object) => void) | undefined

function writeOwner(w: Writer, tag: number, owner: Owner | undefined, input: number): void {
  const pb = chown(owner, input)
  if (pb === undefined) return
  w.uint32(tag)
  const start = w.begin()
  ;(chownEncoder ??= messageEncoder('ChownOpt'))(w, pb)
  w.end(start)
}

/** The oneof member of a FileAction: the same fields, in the same order, as build()'s objects. */
function writeAction(w: Writer, action: ResolvedAction, input: number): void {
  const { spec } = action
  let start: number
  switch (spec.kind) {
    case 'mkdir':
      w.uint32(0x32) // FileAction.mkdir
      start = w.begin()
      writeString(w, 0x0a, action.path)
      writeInt(w, 0x10, (spec.options.mode ?? 0o755) & 0o777)
      writeBool(w, 0x18, spec.options.parents ?? false)
      writeOwner(w, 0x22, spec.options.owner, input)
      writeInt(w, 0x28, timestamp(spec.options.createdTime))
      break
    case 'mkfile':
      w.uint32(0x2a) // FileAction.mkfile
      start = w.begin()
      writeString(w, 0x0a, action.path)
      writeInt(w, 0x10, (spec.options.mode ?? 0o644) & 0o777)
      if (spec.data.length !== 0) {
        w.uint32(0x1a)
        if (typeof spec.data === 'string') w.string(spec.data)
        else w.bytes(spec.data)
      }
      writeOwner(w, 0x22, spec.options.owner, input)
      writeInt(w, 0x28, timestamp(spec.options.createdTime))
      break
    case 'rm':
      w.uint32(0x3a) // FileAction.rm
      start = w.begin()
      writeString(w, 0x0a, action.path)
      writeBool(w, 0x10, spec.options.allowNotFound ?? false)
      writeBool(w, 0x18, spec.options.allowWildcard ?? false)
      break
    case 'copy': {
      const o = spec.options
      w.uint32(0x22) // FileAction.copy
      start = w.begin()
      writeString(w, 0x0a, action.src)
      writeString(w, 0x12, action.path)
      writeOwner(w, 0x1a, o.owner, input)
      writeInt(w, 0x20, o.mode ?? -1)
      writeBool(w, 0x28, o.followSymlinks ?? false)
      writeBool(w, 0x30, o.dirContentsOnly ?? false)
      writeBool(w, 0x38, o.attemptUnpack ?? false)
      writeBool(w, 0x40, o.createDestPath ?? false)
      writeBool(w, 0x48, o.allowWildcard ?? false)
      writeBool(w, 0x50, o.allowEmptyWildcard ?? false)
      writeInt(w, 0x58, timestamp(o.createdTime))
      for (const pattern of o.include ?? []) {
        w.uint32(0x62)
        w.string(pattern)
      }
      for (const pattern of o.exclude ?? []) {
        w.uint32(0x6a)
        w.string(pattern)
      }
      writeBool(w, 0x70, o.alwaysReplaceExistingDestPaths ?? false)
      writeString(w, 0x7a, o.modeStr ?? '')
      break
    }
  }
  w.end(start)
}

function fileOpName(actions: readonly ResolvedAction[]): string {
  return actions.map((action) => (action.spec.kind === 'copy' ? `copy ${action.src} ${action.path}` : `${action.spec.kind} ${action.path}`)).join(', ')
}
