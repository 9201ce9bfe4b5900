import { invalid } from './errors.js'
import type { PbInput, PbMeta, PbMount, PbOp, PbSecretEnv } from './pb/types.js'
import { CacheSharingOpt, MountType, NetMode, SecurityMode } from './pb/types.js'
import { EMPTY_CONSTRAINTS, platformToPB, type Platform } from './platform.js'
import { ExecState, State, assertState, stateEnv, stateSettings, type HostEntry, type NetworkMode, type SecurityModeName } from './state.js'
import { messageEncoder, writeBool, writeInt, writeString, type Writer } from './pb/codec.js'
import {
  MEMO_SLOT, writePlatformTail,
  beginInputs, cleanPath, internCaps, joinPath, makeMeta, makeMount, makeOp, pickOpOptions, writeInput,
  type BuildContext, type BuiltOp, type DirectVertex, type EncodeContext, type OpOptions, type Output,
} from './vertex.js'

/** A read-write or read-only mount of another State's filesystem. */
export interface BindMount {
  type: 'bind'
  dest: string
  /** The filesystem to mount; scratch (an empty writable directory) when absent. */
  from?: State
  /** Mount only this sub-path of `from`. */
  selector?: string
  readonly?: boolean
  /** False: a writable mount whose changes are thrown away (no output). Default true. */
  output?: boolean
}

/** A persistent cache directory shared between runs. */
export interface CacheMount {
  type: 'cache'
  dest: string
  /** The cache's id (namespace); default the dest. */
  id?: string
  /** How concurrent runs share it: `shared` (default), `private` or `locked`. */
  sharing?: 'shared' | 'private' | 'locked'
  /** Seed the cache from this filesystem the first time. */
  from?: State
}

/** A tmpfs. */
export interface TmpfsMount {
  type: 'tmpfs'
  dest: string
  /** Size limit in bytes (BuildKit v0.10+). */
  size?: number
}

/** A secret mounted as a file; its bytes come from the session, never from LLB. */
export interface SecretMount {
  type: 'secret'
  /** The secret's id, as the session's secrets provider knows it. */
  id: string
  /** Where the file appears; default `/run/secrets/<id>`. */
  dest?: string
  /** Permission bits; default 0o400. */
  mode?: number
  uid?: number
  gid?: number
  /** Skip the mount instead of failing when the secret is missing. */
  optional?: boolean
}

/** An ssh-agent socket forwarded from the session. */
export interface SshMount {
  type: 'ssh'
  /** The agent id; default `default`. */
  id?: string
  /** Socket path; default `/run/buildkit/ssh_agent.<n>`. */
  dest?: string
  /** Permission bits; default 0o600. */
  mode?: number
  uid?: number
  gid?: number
  optional?: boolean
}

/** A mount of an exec op. */
export type MountSpec = BindMount | CacheMount | TmpfsMount | SecretMount | SshMount

/** A resource limit of the process (BuildKit v0.10+). */
export interface Ulimit {
  name: 'core' | 'cpu' | 'data' | 'fsize' | 'locks' | 'memlock' | 'msgqueue' | 'nice' | 'nofile' | 'nproc' | 'rss' | 'rtprio' | 'rttime' | 'sigpending' | 'stack'
  soft: number
  hard: number
}

/** Proxy settings, passed to the process and kept out of the cache key. */
export interface ProxyEnv {
  httpProxy?: string
  httpsProxy?: string
  ftpProxy?: string
  noProxy?: string
  allProxy?: string
}

/** A secret exposed as an environment variable (BuildKit v0.10+). */
export interface SecretEnv {
  /** The secret's id. */
  id: string
  /** The environment variable name. */
  name: string
  optional?: boolean
}

/** Options of {@link State.run}. Give `args` (argv, no shell) or `shell` (run with `/bin/sh -c`). */
export interface RunOptions extends OpOptions {
  args?: readonly string[]
  shell?: string
  /** Variables added to the State's environment for this process only. */
  env?: Readonly<Record<string, string>>
  /** Working directory; relative to the State's. */
  cwd?: string
  user?: string
  hostname?: string
  extraHosts?: readonly HostEntry[]
  ulimits?: readonly Ulimit[]
  /** Exit codes that count as success (BuildKit v0.17+). */
  validExitCodes?: readonly number[]
  network?: NetworkMode
  security?: SecurityModeName
  proxyEnv?: ProxyEnv
  cgroupParent?: string
  mounts?: readonly MountSpec[]
  secretEnv?: readonly SecretEnv[]
}

const NO_SECRET_ENV: readonly SecretEnv[] = Object.freeze([])
const NO_PB_SECRET_ENV: readonly PbSecretEnv[] = Object.freeze([])
const NO_SECRETS: readonly ResolvedSecret[] = Object.freeze([])
const NO_ENV = Object.freeze([]) as unknown as string[]

/** The input index of each regular mount of the op being written (-1: none); see {@link ExecVertex.writeOp}. */
const mountInputs: number[] = []
const NO_OUTPUTS: readonly Output[] = Object.freeze([])
/** The Meta with the default PATH, for engines that do not set one (rare: kept out of the vertex). */
const metaWithPath = new WeakMap<ExecVertex, PbMeta>()
const sourceScratch: Output[] = []

/** The distinct sources of the mounts, in mount order, in an array of exactly their number. */
function distinctSources(mounts: readonly ResolvedMount[]): readonly Output[] {
  if (mounts.length === 1) {
    const source = (mounts[0] as ResolvedMount).source
    return source ? [source] : NO_OUTPUTS
  }
  let count = 0
  for (const mount of mounts) {
    const source = mount.source
    if (!source) continue
    let known = false
    for (let i = 0; i < count && !known; i++) known = (sourceScratch[i] as Output).vertex === source.vertex && (sourceScratch[i] as Output).index === source.index
    if (!known) sourceScratch[count++] = source
  }
  const outputs = sourceScratch.slice(0, count)
  sourceScratch.length = 0
  return outputs
}

function writeSecretMounts(w: Writer, secrets: readonly ResolvedSecret[], type: number): void {
  for (const secret of secrets) {
    w.uint32(0x12) // ExecOp.mounts
    const start = w.begin()
    writeInt(w, 0x08, -1)
    writeString(w, 0x1a, secret.dest)
    w.uint32(0x30)
    w.uint32(type)
    w.uint32(type === MountType.SECRET ? (21 << 3) | 2 : (22 << 3) | 2) // Mount.secretOpt, Mount.SSHOpt
    const opt = w.begin()
    writeString(w, 0x0a, secret.id)
    if (secret.uid !== 0) {
      w.uint32(0x10)
      w.uint32(secret.uid)
    }
    if (secret.gid !== 0) {
      w.uint32(0x18)
      w.uint32(secret.gid)
    }
    if (secret.mode !== 0) {
      w.uint32(0x20)
      w.uint32(secret.mode)
    }
    writeBool(w, 0x28, secret.optional)
    w.end(opt)
    w.end(start)
  }
}

let execEncoders: { meta: (w: Writer, v: object) => void; secretEnv: (w: Writer, v: object) => void } | undefined

/** The caps an exec op can need, as bits: one shared cap list per combination, found without building a key. */
const EXEC_CAP_NAMES = [
  'exec.meta.base', 'exec.meta.proxyenv', 'exec.meta.ulimit', 'exec.meta.cgroup.parent', 'exec.validexitcode', 'exec.meta.network',
  'exec.meta.security', 'exec.mount.selector', 'exec.mount.cache', 'exec.mount.cache.sharing', 'exec.mount.tmpfs',
  'exec.mount.tmpfs.size', 'exec.mount.bind', 'exec.mount.bind.readwrite-nooutput', 'exec.mount.secret', 'exec.mount.ssh',
  'exec.secretenv',
] as const
const EXEC_CAP: Readonly<Record<string, number>> = Object.fromEntries(EXEC_CAP_NAMES.map((name, bit) => [name, 2 ** bit]))
const execCapLists: (readonly string[] | undefined)[] = []

function execCaps(mask: number): readonly string[] {
  return (execCapLists[mask] ??= internCaps(EXEC_CAP_NAMES.filter((_name, bit) => (mask & (2 ** bit)) !== 0)))
}

const defaultPathCaps = new Map<readonly string[], readonly string[]>()

/** An exec cap list plus `exec.meta.setsdefaultpath`, shared like the list itself. */
function withDefaultPath(caps: readonly string[]): readonly string[] {
  let list = defaultPathCaps.get(caps)
  if (!list) {
    list = internCaps([...caps, 'exec.meta.setsdefaultpath'])
    defaultPathCaps.set(caps, list)
  }
  return list
}

function sameMounts(a: readonly ResolvedMount[], b: readonly ResolvedMount[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as ResolvedMount
    const y = b[i] as ResolvedMount
    if (x.source !== y.source || x.dest !== y.dest || x.type !== y.type || x.selector !== y.selector || x.readonly !== y.readonly ||
      x.output !== y.output || x.cacheId !== y.cacheId || x.sharing !== y.sharing || x.size !== y.size) return false
  }
  return true
}

function hasDest(mounts: readonly { readonly dest: string }[], dest: string): boolean {
  for (const mount of mounts) if (mount.dest === dest) return true
  return false
}

/** Sorts mounts by dest, stable; an insertion sort, as exec ops have a few mounts. */
function sortByDest(mounts: ResolvedMount[]): ResolvedMount[] {
  for (let i = 1; i < mounts.length; i++) {
    const mount = mounts[i] as ResolvedMount
    let j = i - 1
    while (j >= 0 && (mounts[j] as ResolvedMount).dest > mount.dest) {
      mounts[j + 1] = mounts[j] as ResolvedMount
      j--
    }
    mounts[j + 1] = mount
  }
  return mounts
}
const ULIMITS = new Set(['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'])
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** The `output` of a bind mount that yields one, until run() numbers the outputs in dest order. */
const WANTS_OUTPUT = -2

interface ResolvedMount {
  readonly type: 'bind' | 'cache' | 'tmpfs'
  readonly dest: string
  readonly source: Output | undefined
  readonly selector: string
  readonly readonly: boolean
  /** Output index, or -1; {@link WANTS_OUTPUT} until the mounts are sorted and their outputs numbered. */
  output: number
  /** Whether a bind mount yields an output. */
  readonly cacheId: string
  readonly sharing: number
  readonly size: number
}

interface ResolvedSecret {
  readonly dest: string
  readonly id: string
  readonly mode: number
  readonly uid: number
  readonly gid: number
  readonly optional: boolean
}

function nonNegative(value: number | undefined, what: string): number {
  if (value === undefined) return 0
  if (!Number.isInteger(value) || value < 0) invalid(`Expected ${what} to be a non-negative integer, received ${value}`)
  return value
}

/** The exec op behind {@link State.run}. Everything that does not depend on the marshal context is precomputed. */
export class ExecVertex implements DirectVertex {
  /** @internal */
  [MEMO_SLOT]: unknown = undefined
  private readonly sourceOutputs: readonly Output[]
  private readonly baseCaps: readonly string[]
  private readonly args: readonly string[]
  private readonly env: string[]
  private readonly cwd: string
  /** The whole Meta when it has more than args, env and cwd (rare); otherwise built only for build(). */
  private readonly richMeta: PbMeta | undefined
  private readonly hasPath: boolean
  /** Secret and ssh mounts and secret env: shared empty lists for most execs. */
  private readonly secrets: readonly ResolvedSecret[]
  private readonly ssh: readonly ResolvedSecret[]
  private readonly pbSecretEnv: readonly PbSecretEnv[]

  constructor(
    meta: Readonly<PbMeta>,
    envList: readonly (readonly [string, string])[],
    readonly mounts: readonly ResolvedMount[],
    secrets: readonly ResolvedSecret[],
    ssh: readonly ResolvedSecret[],
    secretEnv: readonly SecretEnv[],
    private readonly network: NetworkMode,
    private readonly security: SecurityModeName,
    readonly platform: Platform | undefined,
    readonly options: OpOptions,
    /** @internal The distinct sources of `mounts`, when known (shared mounts). */
    sources?: readonly Output[],
  ) {
    this.sourceOutputs = sources ?? distinctSources(mounts)

    let caps = EXEC_CAP['exec.meta.base'] as number
    // Most execs inherit no environment: share one empty list.
    const env = envList.length === 0 && ssh.length === 0 ? NO_ENV : envList.map(([key, value]) => `${key}=${value}`)
    if (ssh.length > 0 && !envList.some(([key]) => key === 'SSH_AUTH_SOCK')) env.push(`SSH_AUTH_SOCK=${(ssh[0] as ResolvedSecret).dest}`)
    this.hasPath = envList.some(([key]) => key === 'PATH')
    this.args = meta.args ?? []
    this.env = env
    this.cwd = meta.cwd ?? ''
    const rich = meta.args === undefined || meta.cwd === undefined || meta.user !== undefined || meta.hostname !== undefined || meta.extraHosts !== undefined || meta.proxyEnv !== undefined || meta.ulimit !== undefined ||
      meta.cgroupParent !== undefined || meta.removeMountStubsRecursive !== undefined || meta.validExitCodes !== undefined
    this.richMeta = rich ? makeMeta(meta, env) : undefined
    if (meta.proxyEnv) caps |= EXEC_CAP['exec.meta.proxyenv'] as number
    if (meta.ulimit?.length) caps |= EXEC_CAP['exec.meta.ulimit'] as number
    if (meta.cgroupParent) caps |= EXEC_CAP['exec.meta.cgroup.parent'] as number
    if (meta.validExitCodes?.length) caps |= EXEC_CAP['exec.validexitcode'] as number
    if (network !== 'sandbox') caps |= EXEC_CAP['exec.meta.network'] as number
    if (security !== 'sandbox') caps |= EXEC_CAP['exec.meta.security'] as number
    for (const mount of mounts) {
      if (mount.selector) caps |= EXEC_CAP['exec.mount.selector'] as number
      if (mount.type === 'cache') {
        caps |= (EXEC_CAP['exec.mount.cache'] as number) | (EXEC_CAP['exec.mount.cache.sharing'] as number)
      } else if (mount.type === 'tmpfs') {
        caps |= EXEC_CAP['exec.mount.tmpfs'] as number
        if (mount.size > 0) caps |= EXEC_CAP['exec.mount.tmpfs.size'] as number
      } else {
        caps |= EXEC_CAP['exec.mount.bind'] as number
        // A writable bind mount without an output was declared with `output: false`.
        if (!mount.readonly && mount.output < 0) caps |= EXEC_CAP['exec.mount.bind.readwrite-nooutput'] as number
      }
    }
    if (secrets.length > 0) caps |= EXEC_CAP['exec.mount.secret'] as number
    if (ssh.length > 0) caps |= EXEC_CAP['exec.mount.ssh'] as number
    if (secretEnv.length > 0) caps |= EXEC_CAP['exec.secretenv'] as number
    this.secrets = secrets.length > 0 ? secrets : NO_SECRETS
    this.ssh = ssh.length > 0 ? ssh : NO_SECRETS
    this.baseCaps = execCaps(caps)
    this.pbSecretEnv = secretEnv.length > 0 ? secretEnv.map((secret): PbSecretEnv => ({ ID: secret.id, name: secret.name, optional: secret.optional ?? false })) : NO_PB_SECRET_ENV
  }

  /** The kind of op (on the prototype: one field less per vertex). */
  get kind(): 'exec' {
    return 'exec'
  }

  inputs(): readonly Output[] {
    return this.sourceOutputs
  }

  /** @internal The output of the mount at `dest` after the run. */
  mountOutput(dest: string): Output | undefined {
    const mount = this.mounts.find((candidate) => candidate.dest === dest)
    if (!mount) {
      const known = this.mounts.map((candidate) => candidate.dest).join(', ')
      invalid(`Expected the dest of a mount of this exec (${known}), received ${JSON.stringify(dest)}`)
    }
    if (mount.type !== 'bind') invalid(`The ${mount.type} mount at ${dest} has no output: only bind mounts are snapshots`)
    if (mount.output >= 0) return { vertex: this, index: mount.output }
    if (mount.readonly) return mount.source
    invalid(`The bind mount at ${dest} was declared with output: false, so it has no output`)
  }

  opCaps(context: BuildContext): readonly string[] {
    // Like Go: engines that set a default PATH get the cap; for others the emitter adds PATH itself (metaIn).
    return context.hasCaps && context.support('exec.meta.setsdefaultpath') === 'enabled' ? withDefaultPath(this.baseCaps) : this.baseCaps
  }

  opName(): string {
    return this.args.join(' ')
  }

  /** The Meta without the default PATH. */
  private meta(): PbMeta {
    return this.richMeta ?? makeMeta({ args: this.args as string[], cwd: this.cwd }, this.env)
  }

  /** Whether the op's env gets the default PATH in `context` (engines without `exec.meta.setsdefaultpath`). */
  private addsPath(context: BuildContext): boolean {
    return context.hasCaps && !this.hasPath && context.support('exec.meta.setsdefaultpath') !== 'enabled'
  }

  /** The Meta the op carries in `context`. */
  private metaIn(context: BuildContext): PbMeta {
    if (!this.addsPath(context)) return this.meta()
    let meta = metaWithPath.get(this)
    if (meta === undefined) {
      meta = makeMeta(this.meta(), [...this.env, `PATH=${DEFAULT_PATH}`])
      metaWithPath.set(this, meta)
    }
    return meta
  }

  writeOp(context: EncodeContext, w: Writer): void {
    const mounts = this.mounts
    beginInputs()
    for (let i = 0; i < mounts.length; i++) {
      const source = (mounts[i] as ResolvedMount).source
      mountInputs[i] = source ? writeInput(w, context.hex(source), source.index) : -1
    }
    const encoders = execEncoders ??= { meta: messageEncoder('Meta'), secretEnv: messageEncoder('SecretEnv') }
    w.uint32(0x12) // Op.exec
    const exec = w.begin()
    w.uint32(0x0a) // ExecOp.meta
    let start = w.begin()
    if (this.richMeta !== undefined || this.addsPath(context)) encoders.meta(w, this.metaIn(context))
    else {
      // Args, env and cwd only: written as the Meta encoder would (repeated strings always, cwd unless empty).
      const args = this.args
      for (let i = 0; i < args.length; i++) {
        w.uint32(0x0a)
        w.string(args[i] as string)
      }
      const env = this.env
      for (let i = 0; i < env.length; i++) {
        w.uint32(0x12)
        w.string(env[i] as string)
      }
      if (this.cwd !== '') {
        w.uint32(0x1a)
        w.string(this.cwd)
      }
    }
    w.end(start)
    for (let i = 0; i < mounts.length; i++) {
      const mount = mounts[i] as ResolvedMount
      w.uint32(0x12) // ExecOp.mounts
      start = w.begin()
      writeInt(w, 0x08, mount.source ? (mountInputs[i] as number) : -1) // Mount.input
      writeString(w, 0x12, mount.selector)
      writeString(w, 0x1a, mount.dest)
      writeInt(w, 0x20, mount.output)
      writeBool(w, 0x28, mount.readonly)
      if (mount.type === 'cache') {
        w.uint32(0x30) // Mount.mountType
        w.uint32(MountType.CACHE)
        w.uint32((20 << 3) | 2) // Mount.cacheOpt
        const opt = w.begin()
        writeString(w, 0x0a, mount.cacheId)
        writeInt(w, 0x10, mount.sharing)
        w.end(opt)
      } else if (mount.type === 'tmpfs') {
        w.uint32(0x30)
        w.uint32(MountType.TMPFS)
        w.uint32((19 << 3) | 2) // Mount.TmpfsOpt
        const opt = w.begin()
        writeInt(w, 0x08, mount.size)
        w.end(opt)
      }
      w.end(start)
    }
    writeSecretMounts(w, this.secrets, MountType.SECRET)
    writeSecretMounts(w, this.ssh, MountType.SSH)
    const network = this.networkMode()
    if (network !== 0) {
      w.uint32(0x18)
      w.uint32(network)
    }
    if (this.security === 'insecure') {
      w.uint32(0x20)
      w.uint32(SecurityMode.INSECURE)
    }
    for (const secret of this.pbSecretEnv) {
      w.uint32(0x2a)
      start = w.begin()
      encoders.secretEnv(w, secret)
      w.end(start)
    }
    w.end(exec)
    writePlatformTail(w, this.platform ?? context.platform)
  }

  /** The Mount messages of build(); sourced mounts get their input there (`input` is Mount's first field). */
  private mountTemplates(): PbMount[] {
    const templates: PbMount[] = []
    for (const mount of this.mounts) {
      const pb: PbMount = { input: mount.source ? undefined : -1, dest: mount.dest, output: mount.output, readonly: mount.readonly, selector: mount.selector }
      if (mount.type === 'cache') {
        pb.mountType = MountType.CACHE
        pb.cacheOpt = { ID: mount.cacheId, sharing: mount.sharing }
      } else if (mount.type === 'tmpfs') {
        pb.mountType = MountType.TMPFS
        pb.TmpfsOpt = { size: mount.size }
      }
      templates.push(makeMount(pb))
    }
    for (const secret of this.secrets) {
      templates.push(makeMount({ input: -1, dest: secret.dest, mountType: MountType.SECRET, secretOpt: { ID: secret.id, uid: secret.uid, gid: secret.gid, mode: secret.mode, optional: secret.optional } }))
    }
    for (const agent of this.ssh) {
      templates.push(makeMount({ input: -1, dest: agent.dest, mountType: MountType.SSH, SSHOpt: { ID: agent.id, uid: agent.uid, gid: agent.gid, mode: agent.mode, optional: agent.optional } }))
    }
    return templates
  }

  private networkMode(): number {
    return this.network === 'host' ? NetMode.HOST : this.network === 'none' ? NetMode.NONE : NetMode.UNSET
  }

  build(context: BuildContext): BuiltOp {
    const caps = this.opCaps(context)
    const meta = this.metaIn(context)
    const inputs: PbInput[] = []
    const mounts: PbMount[] = this.mountTemplates()
    for (let i = 0; i < this.mounts.length; i++) {
      const source = (this.mounts[i] as ResolvedMount).source
      if (!source) continue
      const input = context.input(source)
      let at = inputs.findIndex((known) => known.digest === input.digest && (known.index ?? 0) === (input.index ?? 0))
      if (at < 0) at = inputs.push(input) - 1
      mounts[i] = makeMount(mounts[i] as PbMount, at)
    }
    const op: PbOp = makeOp({
      inputs,
      exec: {
        meta,
        mounts,
        network: this.networkMode(),
        security: this.security === 'insecure' ? SecurityMode.INSECURE : SecurityMode.SANDBOX,
        ...(this.pbSecretEnv.length > 0 ? { secretenv: this.pbSecretEnv.map((secret) => ({ ...secret })) } : {}),
      },
      platform: platformToPB(this.platform ?? context.platform),
      constraints: EMPTY_CONSTRAINTS,
    })
    return { op, caps, name: this.opName(), options: this.options }
  }
}

/** @internal Builds the exec op for `state.run(options)`. */
export function runExec(state: State, options: RunOptions): ExecState {
  let args: string[]
  if (options.args !== undefined && options.shell !== undefined) invalid('Expected either args or shell in run(), received both')
  if (options.shell !== undefined) args = ['/bin/sh', '-c', options.shell]
  else if (options.args !== undefined && options.args.length > 0) args = Array.isArray(options.args) ? options.args.slice() : [...options.args]
  else invalid('Expected run() to have non-empty args or a shell script')

  let scoped: State = state
  if (options.env !== undefined) for (const [key, value] of Object.entries(options.env)) scoped = scoped.withEnv(key, value)
  const cwd = options.cwd === undefined ? state.getDir() : options.cwd.startsWith('/') ? cleanPath(options.cwd) : joinPath('/', state.getDir(), options.cwd)
  const user = options.user ?? state.getUser()
  const hostname = options.hostname ?? state.getHostname()
  const extraHosts = options.extraHosts?.length ? [...state.getExtraHosts(), ...options.extraHosts] : state.getExtraHosts()

  const meta: PbMeta = { args, cwd }
  if (user) meta.user = user
  if (hostname) meta.hostname = hostname
  if (extraHosts.length > 0) meta.extraHosts = extraHosts.map(({ host, ip }) => ({ Host: host, IP: ip }))
  if (options.proxyEnv) {
    const { httpProxy, httpsProxy, ftpProxy, noProxy, allProxy } = options.proxyEnv
    meta.proxyEnv = { httpProxy, httpsProxy, ftpProxy, noProxy, allProxy }
  }
  if (options.ulimits?.length) {
    meta.ulimit = options.ulimits.map((limit) => {
      if (!ULIMITS.has(limit.name)) invalid(`Expected a ulimit name (${[...ULIMITS].join(', ')}), received ${JSON.stringify(limit.name)}`)
      return { Name: limit.name, Soft: limit.soft, Hard: limit.hard }
    })
  }
  if (options.cgroupParent) meta.cgroupParent = options.cgroupParent
  if (options.validExitCodes?.length) meta.validExitCodes = options.validExitCodes.map((code) => code | 0)

  const regular: ResolvedMount[] = [{
    type: 'bind', dest: '/', source: state.output(), selector: '', readonly: false, output: WANTS_OUTPUT, cacheId: '', sharing: 0, size: 0,
  }]
  const secrets: ResolvedSecret[] = []
  const ssh: ResolvedSecret[] = []
  for (const spec of options.mounts ?? []) {
    const dest = 'dest' in spec ? spec.dest : undefined
    if (dest === '/') invalid('Expected mounts other than "/": the root filesystem is the State run() is called on')
    if (dest !== undefined && (dest === '' || hasDest(regular, dest) || hasDest(secrets, dest))) {
      invalid(`Expected one mount per dest, received ${JSON.stringify(dest)} twice or empty`)
    }
    switch (spec.type) {
      case 'bind': {
        // `instanceof` first: the message for assertState is only built for a foreign or wrong value.
        const source = spec.from === undefined ? undefined : (spec.from instanceof State ? spec.from : assertState(spec.from, `the bind mount at ${spec.dest}`)).output()
        const output = spec.output !== false && !spec.readonly ? WANTS_OUTPUT : -1
        regular.push({ type: 'bind', dest: spec.dest, source, selector: spec.selector ?? '', readonly: spec.readonly ?? false, output, cacheId: '', sharing: 0, size: 0 })
        break
      }
      case 'cache': {
        const source = spec.from === undefined ? undefined : assertState(spec.from, `the cache mount at ${spec.dest}`).output()
        const sharing = spec.sharing === 'private' ? CacheSharingOpt.PRIVATE : spec.sharing === 'locked' ? CacheSharingOpt.LOCKED : CacheSharingOpt.SHARED
        if (spec.sharing !== undefined && !['shared', 'private', 'locked'].includes(spec.sharing)) invalid(`Expected cache sharing shared, private or locked, received ${JSON.stringify(spec.sharing)}`)
        regular.push({ type: 'cache', dest: spec.dest, source, selector: '', readonly: false, output: -1, cacheId: spec.id ?? spec.dest, sharing, size: 0 })
        break
      }
      case 'tmpfs':
        regular.push({ type: 'tmpfs', dest: spec.dest, source: undefined, selector: '', readonly: false, output: -1, cacheId: '', sharing: 0, size: nonNegative(spec.size, 'the tmpfs size') })
        break
      case 'secret':
        if (!spec.id) invalid('Expected a secret mount to have an id')
        secrets.push({ dest: spec.dest ?? `/run/secrets/${spec.id}`, id: spec.id, mode: spec.mode ?? 0o400, uid: nonNegative(spec.uid, 'the uid'), gid: nonNegative(spec.gid, 'the gid'), optional: spec.optional ?? false })
        break
      case 'ssh':
        ssh.push({ dest: spec.dest ?? `/run/buildkit/ssh_agent.${ssh.length}`, id: spec.id ?? 'default', mode: spec.mode ?? 0o600, uid: nonNegative(spec.uid, 'the uid'), gid: nonNegative(spec.gid, 'the gid'), optional: spec.optional ?? false })
        break
      default:
        invalid(`Expected a mount type bind, cache, tmpfs, secret or ssh, received ${JSON.stringify((spec as { type: unknown }).type)}`)
    }
  }
  // Go sorts the regular mounts by dest (stable here) and numbers the outputs in that order.
  // A copy of exactly the mounts' number: `regular` grew by push (most execs have one mount and keep it).
  let mounts = sortByDest(regular.length > 1 ? regular.slice() : regular)
  let next = 0
  for (const mount of mounts) if (mount.output === WANTS_OUTPUT) mount.output = next++
  // Many runs on one State have the same mounts (shards of a job): share them (and their list of sources) with the
  // last run; they are immutable from here on.
  const last = state.lastRun as ExecVertex | undefined
  let sources: readonly Output[] | undefined
  if (last !== undefined && sameMounts(last.mounts, mounts)) {
    mounts = last.mounts as ResolvedMount[]
    sources = last.inputs()
  }
  for (const secret of options.secretEnv ?? []) {
    if (!secret.id || !secret.name) invalid('Expected a secret env entry to have an id and a name')
  }
  const vertex = new ExecVertex(
    meta,
    stateEnv(scoped),
    mounts,
    secrets,
    ssh,
    options.secretEnv?.length ? options.secretEnv.map((secret) => ({ ...secret })) : NO_SECRET_ENV,
    options.network ?? state.getNetwork(),
    options.security ?? state.getSecurity(),
    state.getPlatform(),
    pickOpOptions(options),
    sources,
  )
  if (!Object.isFrozen(state)) state.lastRun = vertex
  let rootIndex = 0
  for (const mount of mounts) if (mount.dest === '/') rootIndex = mount.output
  return new ExecState(stateSettings(state), { vertex, index: rootIndex }, vertex)
}


