import { invalid, LlbError } from './errors.js'
import { runExec, type ExecVertex, type RunOptions } from './exec.js'
import { FileVertex, type FileAction } from './file.js'
import { marshalState, type Definition, type MarshalOptions } from './marshal.js'
import { normalizePlatform, type Platform } from './platform.js'
import { cleanPath, joinPath, type OpOptions, type Output } from './vertex.js'

const STATE_BRAND = Symbol.for('kiln.llb.state')

/** Network mode of exec ops: `sandbox` (the engine's default network), `none` (loopback only) or `host`. */
export type NetworkMode = 'sandbox' | 'none' | 'host'
/** Security mode of exec ops: `sandbox`, or `insecure` (privileged; needs the `security.insecure` entitlement). */
export type SecurityModeName = 'sandbox' | 'insecure'

/** An `/etc/hosts` entry for exec ops. */
export interface HostEntry {
  host: string
  ip: string
}

/** The parts of an OCI image config a State carries along (field names as in the OCI spec). */
export interface ImageConfig {
  Env?: readonly string[]
  WorkingDir?: string
  User?: string
  Entrypoint?: readonly string[]
  Cmd?: readonly string[]
  Labels?: Readonly<Record<string, string>>
  ExposedPorts?: Readonly<Record<string, object>>
  Volumes?: Readonly<Record<string, object>>
  StopSignal?: string
}

/** What a State carries besides its output: frozen, and shared by every State with the same settings. */
interface Settings {
  readonly env: readonly (readonly [string, string])[]
  readonly dir: string
  readonly user: string | undefined
  readonly hostname: string | undefined
  readonly platform: Platform | undefined
  readonly network: NetworkMode | undefined
  readonly security: SecurityModeName | undefined
  readonly extraHosts: readonly HostEntry[]
  readonly imageConfig: ImageConfig | undefined
}

interface StateData extends Settings {
  readonly output: Output | undefined
}

const EMPTY: Settings = Object.freeze({
  env: [],
  dir: '/',
  user: undefined,
  hostname: undefined,
  platform: undefined,
  network: undefined,
  security: undefined,
  extraHosts: [],
  imageConfig: undefined,
})

const platformSettings = new WeakMap<Platform, Settings>()

/** Settings with `changes` applied, built field by field (object spread is slow on this hot path). */
function withChanges(base: Settings, changes: Partial<StateData>): Settings {
  return {
    env: changes.env ?? base.env,
    dir: changes.dir ?? base.dir,
    user: 'user' in changes ? changes.user : base.user,
    hostname: 'hostname' in changes ? changes.hostname : base.hostname,
    platform: 'platform' in changes ? changes.platform : base.platform,
    network: 'network' in changes ? changes.network : base.network,
    security: 'security' in changes ? changes.security : base.security,
    extraHosts: changes.extraHosts ?? base.extraHosts,
    imageConfig: 'imageConfig' in changes ? changes.imageConfig : base.imageConfig,
  }
}

/** @internal A State's (frozen, shareable) settings; for op constructors in this package. */
export function stateSettings(state: State): Settings {
  return (state as unknown as { data: Settings }).data
}

/** @internal A State's environment, as `[key, value]` pairs; for op constructors in this package. */
export function stateEnv(state: State): readonly (readonly [string, string])[] {
  return (state as unknown as { data: Settings }).data.env
}

/** A reusable tweak of a State: `state.with(addEnv('CI', '1'), dir('/src'))`. */
export type StateOption = (state: State) => State

/**
 * An immutable LLB value: a filesystem snapshot (the output of an op, or scratch) plus the settings later ops
 * inherit (env, working directory, user, platform, network, hostname) and, optionally, an OCI image config.
 * Every method returns a new State; copies are cheap because nothing is ever mutated.
 *
 * @example
 * ```ts
 * const base = image('node:20-alpine').dir('/app')
 * const installed = base.with(addEnv('CI', '1')).run({ args: ['npm', 'ci'] }).root()
 * const definition = installed.marshal({ platform: 'linux/amd64' })
 * ```
 */
export class State {
  /** @internal The settings, frozen and shared between States (a new output alone allocates only the State). */
  protected readonly data: Settings
  /** @internal */
  protected readonly out: Output | undefined
  /** @internal The last exec run on this State: the next run with the same mounts shares them. */
  lastRun: unknown = undefined

  /**
   * @internal Use the source functions (`image`, `local`, `scratch`, …) instead. `adopted` is frozen settings of
   * another State, taken as is with `output`.
   */
  constructor(data: Partial<StateData> = {}, adopted?: Settings, output?: Output) {
    if (adopted) {
      this.data = adopted
      this.out = output
    } else {
      this.data = Object.freeze(withChanges(EMPTY, data))
      this.out = data.output
    }
  }

  /** Brand for {@link isState}; shared by every copy of this package. */
  get [STATE_BRAND](): true {
    return true
  }

  /** @internal A copy with some fields changed. */
  protected next(changes: Partial<StateData>): State {
    return new State(undefined, Object.freeze(withChanges(this.data, changes)), 'output' in changes ? changes.output : this.out)
  }

  /** The output this State stands for; `undefined` for scratch. */
  output(): Output | undefined {
    return this.out
  }

  /** True for the empty filesystem. */
  isScratch(): boolean {
    return this.out === undefined
  }

  /** The same settings on another output (or scratch). */
  withOutput(output: Output | undefined): State {
    return new State(undefined, this.data, output)
  }

  /** Sets an environment variable for later exec ops (replacing an earlier value in place; no expansion). */
  withEnv(key: string, value: string): State {
    if (key === '' || key.includes('=')) invalid(`Expected an environment variable name without "=", received ${JSON.stringify(key)}`)
    const env = this.data.env.slice()
    const at = env.findIndex(([name]) => name === key)
    if (at >= 0) env[at] = [key, value]
    else env.push([key, value])
    return this.next({ env })
  }

  /** Removes an environment variable. */
  withoutEnv(key: string): State {
    return this.next({ env: this.data.env.filter(([name]) => name !== key) })
  }

  /** The value of an environment variable, if set. */
  getEnv(key: string): string | undefined {
    return this.data.env.find(([name]) => name === key)?.[1]
  }

  /** The environment as `KEY=value` strings, in the order keys were first set. */
  env(): string[] {
    return this.data.env.map(([key, value]) => `${key}=${value}`)
  }

  /** Sets the working directory; a relative path is resolved against the current one. */
  dir(path: string): State {
    const dir = path.startsWith('/') ? cleanPath(path) : joinPath('/', this.data.dir, path)
    return this.next({ dir })
  }

  /** The working directory (default `/`). */
  getDir(): string {
    return this.data.dir
  }

  /** Sets the user of later exec ops (`name`, `uid`, `uid:gid`, `name:group`). */
  user(user: string): State {
    return this.next({ user })
  }

  /** The user, if set. */
  getUser(): string | undefined {
    return this.data.user
  }

  /** Sets the hostname of later exec ops. */
  hostname(hostname: string): State {
    return this.next({ hostname })
  }

  /** The hostname, if set. */
  getHostname(): string | undefined {
    return this.data.hostname
  }

  /** Sets the platform of later ops (`linux/arm64` or a {@link Platform}). */
  platform(platform: Platform | string): State {
    return this.next({ platform: normalizePlatform(platform) })
  }

  /** The platform, if set; ops without one use marshal's platform. */
  getPlatform(): Platform | undefined {
    return this.data.platform
  }

  /** Sets the network mode of later exec ops. */
  network(mode: NetworkMode): State {
    return this.next({ network: mode })
  }

  /** The network mode (default `sandbox`, like BuildKit). */
  getNetwork(): NetworkMode {
    return this.data.network ?? 'sandbox'
  }

  /** Sets the security mode of later exec ops. */
  security(mode: SecurityModeName): State {
    return this.next({ security: mode })
  }

  /** The security mode (default `sandbox`). */
  getSecurity(): SecurityModeName {
    return this.data.security ?? 'sandbox'
  }

  /** Adds an `/etc/hosts` entry for later exec ops. */
  addExtraHost(host: string, ip: string): State {
    return this.next({ extraHosts: [...this.data.extraHosts, { host, ip }] })
  }

  /** The extra hosts, in the order added. */
  getExtraHosts(): readonly HostEntry[] {
    return this.data.extraHosts
  }

  /**
   * Attaches an OCI image config and applies its Env, WorkingDir and User to this State, like Go's
   * `WithImageConfig`.
   */
  withImageConfig(config: ImageConfig): State {
    let state: State = this.next({ imageConfig: config })
    for (const entry of config.Env ?? []) {
      const eq = entry.indexOf('=')
      state = eq > 0 ? state.withEnv(entry.slice(0, eq), entry.slice(eq + 1)) : state
    }
    if (config.WorkingDir) state = state.dir(config.WorkingDir)
    if (config.User) state = state.user(config.User)
    return state
  }

  /** The image config this State carries, if any. */
  imageConfig(): ImageConfig | undefined {
    return this.data.imageConfig
  }

  /** Applies options in order. */
  with(...options: StateOption[]): State {
    return options.reduce<State>((state, option) => option(state), this)
  }

  /** Runs a process on this filesystem. The result's root and mounted outputs are States again. */
  run(options: RunOptions): ExecState {
    return runExec(this, options)
  }

  /** Applies a chain of file actions as one FileOp: `state.file(mkdir('/a').mkfile('/a/b', 'hi'))`. */
  file(action: FileAction, options?: OpOptions): State {
    const vertex = new FileVertex(this, action, options)
    return this.withOutput({ vertex, index: 0 })
  }

  /** Serializes the graph that ends at this State into a `pb.Definition` (see {@link Definition}). */
  marshal(options: MarshalOptions = {}): Definition {
    return marshalState(this, options)
  }
}

/**
 * The result of {@link State.run}: a State standing for the root filesystem after the process ran, which can also
 * hand out the outputs of its mounts.
 */
export class ExecState extends State {
  /** @internal `settings` are the frozen settings of the State run() was called on. */
  constructor(settings: Settings, output: Output, private readonly exec: ExecVertex) {
    super(undefined, settings, output)
  }

  /** The root filesystem after the process ran. */
  root(): State {
    return new State(undefined, this.data, this.out)
  }

  /**
   * The filesystem of the mount at `dest` after the process ran. A read-only bind mount gives its unchanged input;
   * cache, tmpfs, secret and ssh mounts have no output and throw `LLB_INVALID_ARGUMENT`.
   */
  getMount(dest: string): State {
    const output = this.exec.mountOutput(dest)
    // Default settings but the platform: shared per platform.
    const platform = this.data.platform
    if (platform === undefined) return new State(undefined, EMPTY, output)
    let settings = platformSettings.get(platform)
    if (settings === undefined) {
      settings = Object.freeze(withChanges(EMPTY, { platform }))
      platformSettings.set(platform, settings)
    }
    return new State(undefined, settings, output)
  }
}

/** True when `value` is a State from any copy of @kiln/llb (checks the `Symbol.for('kiln.llb.state')` brand). */
export function isState(value: unknown): value is State {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[STATE_BRAND] === true
}

/** The empty filesystem. */
export function scratch(): State {
  return new State()
}

/** StateOption: sets an environment variable. */
export function addEnv(key: string, value: string): StateOption {
  return (state) => state.withEnv(key, value)
}

/** StateOption: removes an environment variable. */
export function delEnv(key: string): StateOption {
  return (state) => state.withoutEnv(key)
}

/** StateOption: sets the working directory. */
export function dir(path: string): StateOption {
  return (state) => state.dir(path)
}

/** StateOption: sets the user. */
export function user(name: string): StateOption {
  return (state) => state.user(name)
}

/** StateOption: sets the platform. */
export function platform(value: Platform | string): StateOption {
  return (state) => state.platform(value)
}

/** StateOption: sets the network mode. */
export function network(mode: NetworkMode): StateOption {
  return (state) => state.network(mode)
}

/** StateOption: sets the hostname. */
export function hostname(name: string): StateOption {
  return (state) => state.hostname(name)
}

/** @internal Asserts a value is a State (for values that cross package copies). */
export function assertState(value: unknown, what: string): State {
  // The brand alone is not enough: test fakes (core's `fakeState`) carry it without the State API.
  if (!isState(value) || typeof (value as { run?: unknown }).run !== 'function' || typeof (value as { marshal?: unknown }).marshal !== 'function') {
    throw new LlbError('LLB_INVALID_ARGUMENT', `Expected ${what} to be an LLB State from @kiln/llb, received ${value === null ? 'null' : typeof value}`)
  }
  return value
}
