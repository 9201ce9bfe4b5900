import { readFile } from 'node:fs/promises'
import { isAbsolute, join, resolve as resolvePath } from 'node:path'
import {
  CoreError,
  EngineError,
  fromOciImageConfig,
  type FilesystemArtifact,
  type ImageArtifact,
  type Engine,
  type EngineCapabilities,
  type EngineServices,
  type Exporter,
  type FrontendRequest,
  type ImageConfig,
  type KilnEvent,
  type JsonValue,
  type ReadDirEntry,
  type ResolvedImage,
  type RunTargetOptions,
  type SecretSource,
  type StateLike,
  type Target,
  type TargetResult,
} from '@kiln/core'
import type { BuildkitClient, EngineCapabilities as BuildkitCaps, Credentials, Export, FileStat, RegistryCredentials, SolveEvent } from '@kiln/buildkit'
import { credentialsFromSecret, dockerConfigAuth, parseIgnoreFile, parseImageName, pushImage, Session } from '@kiln/buildkit'
import { isLlbError, isState, type Definition, type EngineCaps } from '@kiln/llb'
import { mark } from '../timing.js'
import { definitionState, frontendImageConfig } from './frontend-result.js'

export interface BuildkitEngineOptions {
  /** Local sources (`local://NAME`) are directories relative to this one (or absolute). */
  projectDir: string
  /** The session's shared key, so the engine reuses its copies of local dirs across runs. */
  sharedKey?: string
}

/**
 * Core's `Engine` on top of the BuildKit client: one connection and one session per run, each target solved as
 * its own concurrent Solve (BuildKit shares common vertices), progress mapped to Kiln events.
 */
export class BuildkitEngine implements Engine {
  readonly services: EngineServices
  private session: Session | undefined
  private sessionPromise: Promise<Session> | undefined
  private secretSource: SecretSource | undefined
  private capsPromise: Promise<{ core: EngineCapabilities; llb: EngineCaps; label: string }> | undefined
  /** Registry credentials of push targets by registry host, for a standalone buildkitd's `Auth/Credentials` calls. */
  private readonly pushCredentials = new Map<string, Credentials>()

  constructor(
    readonly client: BuildkitClient,
    private readonly options: BuildkitEngineOptions,
  ) {
    this.services = {
      readFile: (state, path) => this.readFile(state, path),
      readDir: (state, path) => this.readDir(state, path),
      resolveImageConfig: (ref, resolveOptions) => this.resolveImageConfig(ref, resolveOptions?.platform),
      solveFrontend: (request) => this.solveFrontend(request),
    }
  }

  get address(): string {
    return this.client.address.url
  }

  async capabilities(): Promise<EngineCapabilities> {
    return (await this.probe()).core
  }

  /**
   * Starts what a run needs before its first solve (the capability probe, the session) without waiting for either,
   * so both overlap with compiling; their errors surface where they are used.
   */
  prepare(): void {
    this.probe().catch(() => undefined)
    this.ensureSession([]).catch(() => undefined)
  }

  /** The engine as a name for messages: `dockerd 26.1.5 (BuildKit v0.13)`. */
  async label(): Promise<string> {
    return (await this.probe()).label
  }

  private probe(): Promise<{ core: EngineCapabilities; llb: EngineCaps; label: string }> {
    this.capsPromise ??= this.client.capabilities().then((caps) => {
      mark('capabilities probed')
      return toCapabilities(caps)
    })
    return this.capsPromise
  }

  /**
   * Marshals a target's LLB against the engine's capabilities: a feature the engine lacks fails here, before
   * anything runs, naming the node, the feature and the engine.
   */
  async marshal(target: Pick<Target, 'state' | 'nodeId'>): Promise<Definition> {
    const { llb, label } = await this.probe()
    const state = target.state
    if (!isState(state)) throw new CoreError('LLB_INVALID_ARGUMENT', `Node "${target.nodeId}": expected an LLB state from @kiln/llb, received ${typeof state}`, { nodeId: target.nodeId })
    try {
      return state.marshal({ caps: llb, engine: label })
    } catch (error) {
      if (isLlbError(error, 'LLB_UNSUPPORTED_CAP')) {
        const reason = error.reason ? ` (${error.reason})` : ''
        throw new EngineError('BUILDKIT_UNSUPPORTED', `Node "${target.nodeId}" needs ${error.feature ?? 'a feature'}${error.op ? ` for ${error.op}` : ''}, which ${error.engine ?? label} does not support${reason}`, {
          nodeId: target.nodeId,
          feature: error.feature,
          engine: error.engine ?? label,
          cause: error,
        })
      }
      throw error
    }
  }

  /** The session of this run: local dirs found in the definitions, secrets from the run's SecretSource. */
  private async ensureSession(definitions: readonly Definition[]): Promise<Session> {
    this.sessionPromise ??= (async () => {
      const session = new Session({
        name: 'kiln',
        ...(this.options.sharedKey === undefined ? {} : { sharedKey: this.options.sharedKey }),
        // Read when asked, not when created: a frontend solve while compiling opens the session before run() has
        // the SecretSource, and the frontend's RUN --mount=type=secret steps ask for secrets during the run.
        secrets: async (id) => (this.secretSource ? this.secretSource.resolve(id) : undefined),
        // A push target's credentials secret first (a standalone buildkitd asks while its image exporter pushes).
        auth: async (host) => this.pushCredentials.get(host) ?? dockerConfigAuth()(host),
      })
      await this.client.attachSession(session)
      mark('session attached')
      this.session = session
      return session
    })()
    const session = await this.sessionPromise
    for (const definition of definitions) {
      for (const dir of localDirs(definition)) {
        const path = isAbsolute(dir.path) ? dir.path : resolvePath(this.options.projectDir, dir.path)
        const excludePatterns = dir.dockerignore ? await readDockerignore(path) : []
        session.addDir(dir.name, { path, ...(excludePatterns.length > 0 ? { excludePatterns } : {}) })
      }
    }
    return session
  }

  async run(target: Target, options: RunTargetOptions): Promise<TargetResult> {
    if (options.secrets && !this.secretSource) this.secretSource = options.secrets
    mark(`${target.id}: solving`)
    const definition = await this.marshal(target)
    const session = await this.ensureSession([definition])
    const vertices = new Map<string, { cached: boolean; completed: boolean }>()
    const onEvent = (event: SolveEvent) => {
      for (const mapped of toKilnEvents(target.nodeId, event, vertices)) options.emit(mapped)
    }
    // dockerd has no `image` exporter (wire doc 6.1, 13.5): store the image with `moby`, then push it through its API.
    const push = target.exporter?.type === 'image' && target.exporter.push === true ? target.exporter.name : undefined
    const dockerPush = push !== undefined && this.client.address.kind === 'docker'
    if (push !== undefined && !dockerPush && target.secrets[0] !== undefined) {
      const credentials = await this.registryCredentials(target, push, options)
      if (credentials) this.pushCredentials.set(parseImageName(push).registry, 'username' in credentials ? { username: credentials.username, secret: credentials.password } : { username: '', secret: 'identityToken' in credentials ? credentials.identityToken : credentials.registryToken })
    }
    const exports: Export[] = dockerPush ? [{ type: 'moby', name: push }] : toExports(target.exporter, this.options.projectDir)
    const common = {
      session,
      exports,
      onEvent,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(needsHostNetwork(definition) ? { entitlements: ['network.host'] } : {}),
    }
    let exporterResponse: Record<string, string>
    if (target.image && exports.some((exp) => exp.type === 'moby' || exp.type === 'image' || exp.type === 'oci' || exp.type === 'docker')) {
      // An image export needs its config in the result metadata: a gateway build returns both.
      const config = toOciConfig(target.image.config)
      const result = await this.client.build(common, async (gateway) => {
        const ref = await gateway.solve({ definition, evaluate: true })
        return { ref, imageConfig: config }
      })
      exporterResponse = result.exporterResponse
    } else {
      exporterResponse = (await this.client.solve({ ...common, definition, ...(target.cache ? {} : { frontendAttrs: { 'no-cache': '' } }) })).exporterResponse
    }
    if (dockerPush) exporterResponse = await this.dockerPush(target, push, exporterResponse, options)
    const values: Record<string, JsonValue> = {}
    for (const [name, source] of Object.entries(target.values)) {
      if (source.from === 'exporter') values[name] = exporterResponse[source.key] ?? null
      else {
        const text = new TextDecoder().decode(await this.readFile(target.state, source.path)).trim()
        values[name] = source.json ? (JSON.parse(text) as JsonValue) : text
      }
    }
    mark(`${target.id}: solved`)
    return { cached: servedFromCache(definition, vertices), exporterResponse, values }
  }

  /**
   * Pushes an image the `moby` exporter just stored, through dockerd's API (`POST /images/{name}/push` with
   * `X-Registry-Auth`). The response's `containerimage.digest` becomes the pushed manifest digest, as the `image`
   * exporter of a standalone buildkitd reports it; the image ID stays under `containerimage.config.digest`.
   */
  private async dockerPush(target: Target, name: string, response: Record<string, string>, options: RunTargetOptions): Promise<Record<string, string>> {
    const address = this.client.address
    if (address.kind !== 'docker') throw new EngineError('BUILDKIT_UNSUPPORTED', `Node "${target.nodeId}": pushing through the Docker API needs a docker:// engine, received ${address.url}`, { nodeId: target.nodeId })
    const credentials = await this.registryCredentials(target, name, options)
    const pushed = await pushImage(address, name, { ...(credentials ? { credentials } : {}), ...(options.signal ? { signal: options.signal } : {}) })
    options.emit({ type: 'node.log', time: Date.now(), nodeId: target.nodeId, stream: 'stderr', text: `pushed ${pushed.name}@${pushed.digest}\n` })
    const imageId = response['containerimage.config.digest'] ?? response['containerimage.digest']
    return { ...response, ...(imageId ? { 'containerimage.config.digest': imageId } : {}), 'containerimage.digest': pushed.digest, 'image.name': pushed.name }
  }

  /**
   * Credentials for a push: the target's secret (`user:password`, or a token), as core's push targets declare it;
   * otherwise the Docker config.json of this machine for the registry host; otherwise anonymous.
   */
  private async registryCredentials(target: Target, name: string, options: RunTargetOptions): Promise<RegistryCredentials | undefined> {
    const secret = target.secrets[0]
    if (secret !== undefined) {
      const source = options.secrets ?? this.secretSource
      if (!source) throw new EngineError('BUILDKIT_AUTH', `Node "${target.nodeId}" pushes with secret "${secret}": expected a secret source, received none`, { nodeId: target.nodeId, expected: 'a secret source', received: 'none' })
      return credentialsFromSecret(await source.resolve(secret))
    }
    const found = await dockerConfigAuth()(parseImageName(name).registry)
    if (!found) return undefined
    return found.username === '' ? { identityToken: found.secret } : { username: found.username, password: found.secret }
  }

  private async readFile(state: StateLike, path: string): Promise<Uint8Array> {
    const definition = await this.marshal({ state, nodeId: '(read)' })
    const session = await this.ensureSession([definition])
    // A result built with host networking (a deploy.run with network: host) needs the entitlement to be read too.
    const entitlements = needsHostNetwork(definition) ? { entitlements: ['network.host'] } : {}
    const result = await this.client.build({ session, ...entitlements }, async (gateway) => ({ value: await gateway.readFile(await gateway.solve({ definition, evaluate: true }), path) }))
    return result.value.value as Uint8Array
  }

  private async readDir(state: StateLike, path: string): Promise<readonly ReadDirEntry[]> {
    const definition = await this.marshal({ state, nodeId: '(read)' })
    const session = await this.ensureSession([definition])
    const entitlements = needsHostNetwork(definition) ? { entitlements: ['network.host'] } : {}
    const result = await this.client.build({ session, ...entitlements }, async (gateway) => ({ value: await gateway.readDir(await gateway.solve({ definition, evaluate: true }), path) }))
    const entries = result.value.value as FileStat[]
    return entries.map((entry) => ({ name: entry.path, type: goModeType(entry.mode), size: entry.size, mode: entry.mode }))
  }

  private readonly resolvedImages = new Map<string, Promise<ResolvedImage>>()

  /** One gateway call per image and platform per run, however many nodes start from it. */
  private resolveImageConfig(ref: string, platform?: { os: string; architecture: string; variant?: string }): Promise<ResolvedImage> {
    const key = `${ref} ${platform ? `${platform.os}/${platform.architecture}/${platform.variant ?? ''}` : ''}`
    let resolved = this.resolvedImages.get(key)
    if (!resolved) {
      resolved = this.resolveImageConfigUncached(ref, platform)
      resolved.catch(() => this.resolvedImages.delete(key))
      this.resolvedImages.set(key, resolved)
    }
    return resolved
  }

  private async resolveImageConfigUncached(ref: string, platform?: { os: string; architecture: string; variant?: string }): Promise<ResolvedImage> {
    // On the run's session: a build without one attaches (and closes) a session of its own, a round trip more.
    const session = await this.ensureSession([])
    const result = await this.client.build({ session }, async (gateway) => ({ value: await gateway.resolveImageConfig(ref, platform ? { platform } : {}) }))
    mark(`image config of ${ref} resolved`)
    const resolved = result.value.value as { digest: string; config: Record<string, unknown> }
    return { digest: resolved.digest, config: fromOciImageConfig(resolved.config).config }
  }

  /**
   * Runs a frontend in a gateway build on the run's session (its inputs' local dirs served there) and returns its
   * result lazily: the Result ref's `def` becomes a State the run's later ops build on, so the frontend's steps run
   * in the run's solves; `containerimage.config` in the result metadata makes it an image.
   */
  private async solveFrontend(request: FrontendRequest): Promise<ImageArtifact | FilesystemArtifact> {
    const { label } = await this.probe()
    const inputs: Record<string, Definition> = {}
    for (const [name, state] of Object.entries(request.inputs ?? {})) inputs[name] = await this.marshal({ state, nodeId: `(${request.frontend} input ${name})` })
    const session = await this.ensureSession(Object.values(inputs))
    const hostNetwork = request.options?.['force-network-mode'] === 'host'
    const result = await this.client.build({ session, ...(hostNetwork ? { entitlements: ['network.host'] } : {}) }, async (gateway) => ({
      value: await gateway.solve({ frontend: request.frontend, frontendOpt: { ...request.options }, frontendInputs: inputs }),
    }))
    const ref = result.value.value as { definition: Uint8Array; metadata?: Record<string, Uint8Array> }
    if (ref.definition.length === 0) {
      throw new EngineError('BUILDKIT_UNSUPPORTED', `Frontend ${request.frontend} on ${label} returned no LLB definition with its result; expected a Result ref with its def`, { engine: label, expected: 'a Result ref with def', received: 'none' })
    }
    const state = definitionState(ref.definition, label)
    const imageConfig = ref.metadata?.['containerimage.config']
    if (imageConfig === undefined) return { kind: 'filesystem', state }
    const { config, platform } = frontendImageConfig(imageConfig)
    return { kind: 'image', state, config, ...(platform ? { platform } : {}) }
  }

  async close(): Promise<void> {
    await this.session?.close().catch(() => undefined)
    this.client.close()
    mark('engine closed')
  }
}

function toCapabilities(caps: BuildkitCaps): { core: EngineCapabilities; llb: EngineCaps; label: string } {
  const buildkitVersion = caps.info?.version || caps.workers.find((worker) => worker.buildkitVersion?.version)?.buildkitVersion?.version
  const enabled = caps.llbCaps.filter((cap) => cap.enabled).map((cap) => cap.id)
  const disabled = caps.llbCaps.filter((cap) => !cap.enabled)
  const minor = caps.llbCaps.some((cap) => cap.id === 'exporter.multiple') ? 'v0.13+' : enabled.length <= 42 ? 'v0.8' : undefined
  const bk = buildkitVersion && !buildkitVersion.includes('unknown') ? buildkitVersion : minor
  const label = caps.docker ? `dockerd ${caps.dockerVersion ?? '?'}${bk ? ` (BuildKit ${bk})` : ''}` : `buildkitd ${buildkitVersion ?? '?'}`
  return {
    core: {
      name: caps.docker ? 'dockerd' : 'buildkitd',
      version: caps.docker ? (caps.dockerVersion ?? 'unknown') : (buildkitVersion ?? 'unknown'),
      ...(bk ? { buildkitVersion: bk } : {}),
      caps: enabled,
      disabledCaps: disabled.map((cap) => cap.id),
      exporters: Object.entries(caps.exporters)
        .filter(([, available]) => available === true)
        .map(([name]) => name),
      multipleExporters: caps.hasCap('exporter.multiple'),
      platforms: caps.platforms.map((platform) => ({ os: platform.os, architecture: platform.architecture, ...(platform.variant ? { variant: platform.variant } : {}) })),
    },
    llb: { enabled: new Set(enabled), disabled: new Map(disabled.map((cap) => [cap.id, cap.disabledReason ?? 'disabled'])) },
    label,
  }
}

function toExports(exporter: Exporter | undefined, projectDir: string): Export[] {
  if (!exporter) return []
  switch (exporter.type) {
    case 'local':
      return [{ type: 'local', dest: resolvePath(projectDir, exporter.dest) }]
    case 'tar':
      return [{ type: 'tar', dest: resolvePath(projectDir, exporter.dest) }]
    case 'oci':
      return [{ type: 'oci', dest: resolvePath(projectDir, exporter.dest), ...(exporter.name ? { name: exporter.name } : {}) }]
    case 'docker':
      return [{ type: 'docker', dest: resolvePath(projectDir, exporter.dest), name: exporter.name }]
    case 'image':
      // dockerd's store is the `moby` exporter; pushing goes through the `image` exporter.
      return exporter.push ? [{ type: 'image', name: exporter.name, push: true, ...(exporter.insecure ? { attrs: { 'registry.insecure': 'true' } } : {}) }] : [{ type: 'moby', name: exporter.name }]
  }
}

/**
 * The `local://NAME` sources of a definition and the host directory each serves: the op metadata key
 * `kiln.local.path` (set by plugin-std's `local`), else the name itself as a path; `kiln.local.dockerignore`
 * says whether the directory's .dockerignore applies.
 */
export function localDirs(definition: Definition): { name: string; path: string; dockerignore: boolean }[] {
  const dirs = new Map<string, { name: string; path: string; dockerignore: boolean }>()
  for (const op of definition.ops.values()) {
    const identifier = op.op.source?.identifier
    if (typeof identifier !== 'string' || !identifier.startsWith('local://')) continue
    const name = identifier.slice('local://'.length)
    const description = op.metadata.description ?? {}
    dirs.set(name, { name, path: description['kiln.local.path'] ?? name, dockerignore: description['kiln.local.dockerignore'] !== 'false' })
  }
  return [...dirs.values()]
}

async function readDockerignore(dir: string): Promise<string[]> {
  try {
    const text = await readFile(join(dir, '.dockerignore'), 'utf8')
    return parseIgnoreFile(text)
  } catch {
    return []
  }
}

function needsHostNetwork(definition: Definition): boolean {
  for (const op of definition.ops.values()) if (op.op.exec?.network === 1) return true
  return false
}

/**
 * Whether a solve was served from cache: every vertex that does work was cached. Source vertices (an image, a
 * local dir) are re-checked on every solve and never reported cached by dockerd, so they do not count unless
 * there is nothing else.
 */
export function servedFromCache(definition: Definition, vertices: ReadonlyMap<string, { cached: boolean }>): boolean {
  const sources = new Set([...definition.ops.values()].filter((op) => op.op.source !== undefined && op.op.source !== null).map((op) => op.digest))
  const all = [...vertices.entries()]
  const work = all.filter(([digest]) => !sources.has(digest))
  const counted = work.length > 0 ? work : all
  return counted.length > 0 && counted.every(([, vertex]) => vertex.cached)
}

/** Maps BuildKit status events to Kiln events for one node. */
export function toKilnEvents(nodeId: string, event: SolveEvent, vertices: Map<string, { cached: boolean; completed: boolean }>): KilnEvent[] {
  const time = Date.now()
  if (event.type === 'vertex') {
    const known = vertices.get(event.digest) ?? { cached: false, completed: false }
    known.cached = event.cached
    known.completed = event.completed !== undefined
    vertices.set(event.digest, known)
    const out: KilnEvent[] = []
    // A cached vertex is announced before its progress, so reporters can show it as cached from the start.
    if (event.cached) out.push({ type: 'node.cached', time, nodeId, vertex: event.digest })
    out.push(
      {
        type: 'node.progress',
        time,
        nodeId,
        vertex: event.digest,
        name: event.name,
        ...(event.started ? { started: event.started.getTime() } : {}),
        ...(event.completed ? { completed: event.completed.getTime() } : {}),
      },
    )
    return out
  }
  if (event.type === 'log') {
    return [{ type: 'node.log', time, nodeId, stream: event.stream === 2 ? 'stderr' : 'stdout', text: new TextDecoder().decode(event.data), vertex: event.vertex }]
  }
  if (event.type === 'status') {
    return [{ type: 'node.progress', time, nodeId, vertex: event.vertex, name: event.name || event.id, current: event.current, total: event.total }]
  }
  return [{ type: 'node.log', time, nodeId, stream: 'stderr', text: `warning: ${event.short}\n`, vertex: event.vertex }]
}

function toOciConfig(config: ImageConfig): Record<string, unknown> {
  return {
    architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    os: 'linux',
    config: {
      ...(config.env ? { Env: config.env } : {}),
      ...(config.workingDir ? { WorkingDir: config.workingDir } : {}),
      ...(config.user ? { User: config.user } : {}),
      ...(config.entrypoint ? { Entrypoint: config.entrypoint } : {}),
      ...(config.cmd ? { Cmd: config.cmd } : {}),
      ...(config.labels ? { Labels: config.labels } : {}),
      ...(config.exposedPorts ? { ExposedPorts: Object.fromEntries(config.exposedPorts.map((port) => [port, {}])) } : {}),
      ...(config.volumes ? { Volumes: Object.fromEntries(config.volumes.map((volume) => [volume, {}])) } : {}),
      ...(config.stopSignal ? { StopSignal: config.stopSignal } : {}),
    },
    rootfs: { type: 'layers', diff_ids: [] },
  }
}

/** Go's FileMode type bits → an entry type. */
function goModeType(mode: number): ReadDirEntry['type'] {
  const dir = 0x80000000
  const symlink = 0x08000000
  if ((mode & dir) !== 0) return 'directory'
  if ((mode & symlink) !== 0) return 'symlink'
  if ((mode >>> 0) <= 0o7777 || (mode & 0x8f000000) === 0) return 'file'
  return 'other'
}

