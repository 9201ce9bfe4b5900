/**
 * The BuildKit client: one HTTP/2 connection to an engine, Control and gateway calls on it, and sessions.
 */
import type http2 from 'node:http2'
import type { Writable } from 'node:stream'
import type { AddressSource, EngineAddress, TlsOptions } from './address.js'
import { resolveEngineAddress } from './address.js'
import { checkDefinition } from './definition.js'
import { BuildkitError, GrpcStatus, isBuildkitError } from './errors.js'
import type { SolveEvent } from './events.js'
import { statusEvents } from './events.js'
import type { CallOptions } from './grpc/channel.js'
import { connectHttp2, GrpcChannel } from './grpc/channel.js'
import type { fstypes, types } from './proto.js';
import { control, gateway as gatewayPB, rpc, toBigInt, toNumber } from './proto.js'
import type { ExportTarget, SessionOptions } from './session/session.js'
import { bytesMessageDuplex, newId, Session } from './session/session.js'
import { dialRaw, dockerGet, dockerUpgrade } from './transport.js'

const CONTROL = '/moby.buildkit.v1.Control/'
const BRIDGE = '/moby.buildkit.v1.frontend.LLBBridge/'

/** Serialized pb.Definition bytes, or an object carrying them (what @kiln/llb's `marshal()` returns). */
export type DefinitionInput = Uint8Array | { readonly bytes: Uint8Array }

function definitionBytes(definition: DefinitionInput): Uint8Array {
  const bytes = definition instanceof Uint8Array ? definition : definition.bytes
  // Every Definition is checked here, and only here, before it is sent (wire doc 13.1).
  checkDefinition(bytes)
  return bytes
}

export interface ConnectOptions {
  /** Engine address; default: KILN_ENGINE, BUILDKIT_HOST, DOCKER_HOST, then the project engine. */
  address?: string
  /** Environment used for the resolution (default process.env). */
  env?: NodeJS.ProcessEnv
  /** TLS for `tcp://` addresses. */
  tls?: TlsOptions
  signal?: AbortSignal
  /** HTTP/2 PING interval while calls run; an engine that stops answering fails every call (default 10 s). */
  keepaliveMs?: number
  /** How long a PING may stay unanswered (default 20 s). */
  keepaliveTimeoutMs?: number
}

export interface Platform {
  os: string
  architecture: string
  variant?: string | undefined
}

export interface WorkerInfo {
  id: string
  labels: Record<string, string>
  platforms: Platform[]
  buildkitVersion?: { package: string; version: string; revision: string } | undefined
}

export interface Capability {
  id: string
  enabled: boolean
  deprecated: boolean
  disabledReason?: string | undefined
}

export type ExporterType = 'moby' | 'local' | 'tar' | 'image' | 'oci' | 'docker'

export interface EngineCapabilities {
  workers: WorkerInfo[]
  platforms: Platform[]
  llbCaps: Capability[]
  frontendCaps: Capability[]
  /** Exporters this engine has, with the reason when one is missing. */
  exporters: Partial<Record<ExporterType, true | string>>
  /** `Control.Info` where the engine implements it. */
  info?: { package: string; version: string; revision: string } | undefined
  /** The Docker engine's version, for docker:// addresses. */
  dockerVersion?: string | undefined
  /** True for dockerd's built-in BuildKit. */
  docker: boolean
  /** Whether an enabled LLB capability exists. */
  hasCap(id: string): boolean
}

export type Export =
  | { type: 'moby'; name?: string | string[]; attrs?: Record<string, string> }
  | { type: 'image'; name?: string | string[]; push?: boolean; attrs?: Record<string, string> }
  | { type: 'local'; dest: string; attrs?: Record<string, string> }
  | { type: 'tar'; dest: string | Writable; attrs?: Record<string, string> }
  | { type: 'oci' | 'docker'; dest: string | Writable; name?: string | string[]; attrs?: Record<string, string> }

export interface CacheEntry {
  type: string
  attrs?: Record<string, string>
}

interface SolveCommon {
  /** Build id; default: a fresh random id. */
  ref?: string
  exports?: Export[]
  cacheImports?: CacheEntry[]
  cacheExports?: CacheEntry[]
  /** e.g. `network.host`. */
  entitlements?: string[]
  /** The session serving local dirs, secrets, exports. Default: a session created for this solve. */
  session?: Session
  signal?: AbortSignal
  /** Progress events, in the order the engine sent them. */
  onEvent?: (event: SolveEvent) => void
}

export interface SolveRequest extends SolveCommon {
  definition?: DefinitionInput
  frontend?: string
  frontendAttrs?: Record<string, string>
  frontendInputs?: Record<string, DefinitionInput>
}

export interface SolveResult {
  ref: string
  exporterResponse: Record<string, string>
}

export interface FileStat {
  path: string
  /** Go FileMode bits. */
  mode: number
  uid: number
  gid: number
  size: number
  modTimeNs: bigint
  linkname: string
}

export interface GatewayRef {
  id: string
  definition: Uint8Array
  /** The result's metadata, e.g. a frontend's `containerimage.config` (JSON bytes). */
  metadata?: Record<string, Uint8Array>
}

export interface GatewaySolveRequest {
  definition?: DefinitionInput
  frontend?: string
  frontendOpt?: Record<string, string>
  frontendInputs?: Record<string, DefinitionInput>
  /** Build the result now instead of lazily (surfaces errors early). */
  evaluate?: boolean
}

export interface GatewayReturn {
  ref?: GatewayRef
  /** Result metadata; `containerimage.config` is how an image config reaches the `moby` exporter. */
  metadata?: Record<string, Uint8Array | string>
  /** Shorthand for metadata `containerimage.config` (JSON-encoded). */
  imageConfig?: unknown
}

export interface BuildRequest extends SolveCommon {
  frontendAttrs?: Record<string, string>
}

const DIRECTORY_EXPORTERS = new Set(['local'])
const TARBALL_EXPORTERS = new Set(['tar', 'oci', 'docker'])

function toStat(stat: fstypes.Stat | null | undefined): FileStat {
  return {
    path: stat?.path ?? '',
    mode: stat?.mode ?? 0,
    uid: stat?.uid ?? 0,
    gid: stat?.gid ?? 0,
    size: toNumber(stat?.size),
    modTimeNs: toBigInt(stat?.modTime),
    linkname: stat?.linkname ?? '',
  }
}

function toPlatform(platform: { OS?: string | null; Architecture?: string | null; Variant?: string | null }): Platform {
  return { os: platform.OS ?? '', architecture: platform.Architecture ?? '', ...(platform.Variant ? { variant: platform.Variant } : {}) }
}

function toWorker(record: types.WorkerRecord): WorkerInfo {
  const version = record.BuildkitVersion
  return {
    id: record.ID ?? '',
    labels: { ...(record.Labels ?? {}) },
    platforms: (record.platforms ?? []).map(toPlatform),
    buildkitVersion: version ? { package: version.package ?? '', version: version.version ?? '', revision: version.revision ?? '' } : undefined,
  }
}

function toCaps(caps: gatewayPB.APICap[] | null | undefined): Capability[] {
  return (caps ?? []).map((cap) => ({
    id: cap.ID ?? '',
    enabled: cap.Enabled ?? false,
    deprecated: cap.Deprecated ?? false,
    ...(cap.Enabled ? {} : { disabledReason: cap.DisabledReasonMsg || cap.DisabledReason || 'disabled' }),
  }))
}

/** Turns a failed Solve call into a solve failure carrying the engine's message. */
function solveError(error: unknown): unknown {
  if (isBuildkitError(error, 'BUILDKIT_RPC') && error.grpcCode !== GrpcStatus.UNIMPLEMENTED) {
    const message = error.message.replace(/^\/moby\.buildkit\.v1\.Control\/Solve: /, '')
    return new BuildkitError('BUILDKIT_SOLVE_FAILED', `The build failed: ${message}`, {
      address: error.address,
      grpcCode: error.grpcCode,
      method: error.method,
      details: error.details,
      cause: error,
    })
  }
  return error
}

function exporterAttrs(exp: Export): Record<string, string> {
  const attrs: Record<string, string> = {}
  if ('name' in exp && exp.name !== undefined) attrs.name = Array.isArray(exp.name) ? exp.name.join(',') : exp.name
  if (exp.type === 'image' && exp.push !== undefined) attrs.push = String(exp.push)
  return { ...attrs, ...(exp.attrs ?? {}) }
}

function exportTarget(exp: Export): ExportTarget | undefined {
  if (DIRECTORY_EXPORTERS.has(exp.type) && 'dest' in exp) return { kind: 'directory', dest: exp.dest as string }
  if (TARBALL_EXPORTERS.has(exp.type) && 'dest' in exp) return { kind: 'tarball', dest: exp.dest }
  return undefined
}

/** A connection to one BuildKit engine. Create it with `connect()`. */
export class BuildkitClient {
  private capabilitiesPromise: Promise<EngineCapabilities> | undefined

  private constructor(
    readonly address: EngineAddress & AddressSource,
    private readonly channel: GrpcChannel,
  ) {}

  /** Connects to the engine (see ConnectOptions.address for the resolution order). */
  static async connect(options: ConnectOptions = {}): Promise<BuildkitClient> {
    const address = resolveEngineAddress(options.address, options.env ?? process.env, options.tls)
    const socket = address.kind === 'docker' ? await dockerUpgrade(address, '/grpc', [], options.signal) : await dialRaw(address, options.signal)
    const secure = address.kind === 'tcp' && address.tls !== undefined
    const authority = address.kind === 'tcp' ? (address.tls?.serverName ?? address.host) : 'localhost'
    let session: http2.ClientHttp2Session
    try {
      session = await connectHttp2(socket, { secure, authority })
    } catch (error) {
      socket.destroy()
      throw new BuildkitError('BUILDKIT_UNAVAILABLE', `Cannot start HTTP/2 with the engine at ${address.url}: ${(error as Error).message}. Start the engine (bash scripts/engine.sh start current) or check the address.`, {
        address: address.url,
        cause: error,
      })
    }
    const channel = new GrpcChannel(session, {
      address: address.url,
      authority,
      ...(options.keepaliveMs !== undefined ? { keepaliveMs: options.keepaliveMs } : {}),
      ...(options.keepaliveTimeoutMs !== undefined ? { keepaliveTimeoutMs: options.keepaliveTimeoutMs } : {}),
    })
    return new BuildkitClient(address, channel)
  }

  /** True once the connection is gone. */
  get closed(): boolean {
    return this.channel.closed
  }

  /** Closes the connection; calls in flight fail. */
  close(): void {
    this.channel.close()
  }

  private async unary<T>(method: string, request: Uint8Array, decode: (bytes: Uint8Array) => T, options: CallOptions = {}): Promise<T> {
    return decode(await this.channel.unary(method, request, options))
  }

  // ---- Control -------------------------------------------------------------------------------------------

  async listWorkers(filter: string[] = [], options: CallOptions = {}): Promise<WorkerInfo[]> {
    const response = await this.unary(`${CONTROL}ListWorkers`, control.ListWorkersRequest.encode({ filter }).finish(), (bytes) => control.ListWorkersResponse.decode(bytes), options)
    return (response.record ?? []).map((record) => toWorker(record as types.WorkerRecord))
  }

  /** `Control.Info`, or undefined on engines without it (BuildKit before 0.11, dockerd 20.10). */
  async info(options: CallOptions = {}): Promise<{ package: string; version: string; revision: string } | undefined> {
    try {
      const response = await this.unary(`${CONTROL}Info`, control.InfoRequest.encode({}).finish(), (bytes) => control.InfoResponse.decode(bytes), options)
      const version = response.buildkitVersion
      return { package: version?.package ?? '', version: version?.version ?? '', revision: version?.revision ?? '' }
    } catch (error) {
      if (isBuildkitError(error) && error.grpcCode === GrpcStatus.UNIMPLEMENTED) return undefined
      throw error
    }
  }

  async diskUsage(filter: string[] = [], options: CallOptions = {}): Promise<control.UsageRecord[]> {
    const response = await this.unary(`${CONTROL}DiskUsage`, control.DiskUsageRequest.encode({ filter }).finish(), (bytes) => control.DiskUsageResponse.decode(bytes), options)
    return (response.record ?? []) as control.UsageRecord[]
  }

  /** Prunes the build cache; resolves with the records removed. */
  async prune(request: { all?: boolean; filter?: string[]; keepDurationSeconds?: number; keepBytes?: number } = {}, options: CallOptions = {}): Promise<control.UsageRecord[]> {
    const call = this.channel.serverStream(
      `${CONTROL}Prune`,
      control.PruneRequest.encode({ all: request.all ?? false, filter: request.filter ?? [], keepDuration: (request.keepDurationSeconds ?? 0) * 1e9, keepBytes: request.keepBytes ?? 0 }).finish(),
      options,
    )
    const out: control.UsageRecord[] = []
    for await (const message of call) out.push(control.UsageRecord.decode(message))
    return out
  }

  /** Progress of the build `ref` as typed events; ends when the build ends. */
  async *status(ref: string, options: CallOptions = {}): AsyncGenerator<SolveEvent> {
    const call = this.channel.serverStream(`${CONTROL}Status`, control.StatusRequest.encode({ Ref: ref }).finish(), options)
    for await (const message of call) yield* statusEvents(control.StatusResponse.decode(message))
  }

  // ---- Capabilities --------------------------------------------------------------------------------------

  /** What the engine can do: workers, platforms, LLB and frontend caps, exporters, versions. Cached. */
  capabilities(): Promise<EngineCapabilities> {
    this.capabilitiesPromise ??= this.probeCapabilities().catch((error: unknown) => {
      this.capabilitiesPromise = undefined
      throw error
    })
    return this.capabilitiesPromise
  }

  /**
   * `LLBBridge/Ping` needs a build to attach to: run an empty client-driven build around it. The caps are known as
   * soon as the engine answers the Ping that tells the build is ready; the rest of the build (Return, the Solve
   * ending, closing its session) finishes in the background, off the caller's critical path.
   */
  private pingEngine(): Promise<gatewayPB.PongResponse> {
    return new Promise<gatewayPB.PongResponse>((resolve, reject) => {
      let answered = false
      this.build({}, async (gateway) => {
        const pong = gateway.readyPong ?? (await gateway.ping())
        answered = true
        resolve(pong)
        return undefined
      }).then(
        () => {
          if (!answered) reject(new BuildkitError('BUILDKIT_RPC', 'LLBBridge/Ping returned nothing'))
        },
        (error: unknown) => {
          // After the answer, a failure to end the empty build (the caller may have closed the client) is no one's concern.
          if (!answered) reject(error)
        },
      )
    })
  }

  private async probeCapabilities(): Promise<EngineCapabilities> {
    const docker = this.address.kind === 'docker'
    const [workers, info, pong, dockerVersion] = await Promise.all([
      this.listWorkers(),
      this.info(),
      this.pingEngine(),
      docker ? dockerGet(this.address, '/version').then((version) => (version as { Version?: string }).Version) : Promise.resolve(undefined),
    ])
    const llbCaps = toCaps(pong.LLBCaps as gatewayPB.APICap[])
    const frontendCaps = toCaps(pong.FrontendAPICaps as gatewayPB.APICap[])
    const enabled = new Set(llbCaps.filter((cap) => cap.enabled).map((cap) => cap.id))
    const containerdStore = workers.some((worker) => Object.keys(worker.labels).some((label) => label === 'org.mobyproject.buildkit.worker.snapshotter'))
    const version = dockerVersion ? `dockerd ${dockerVersion}` : 'this engine'
    const exporters: EngineCapabilities['exporters'] = docker
      ? {
          moby: true,
          local: true,
          tar: true,
          ...Object.fromEntries(
            (['image', 'oci', 'docker'] as const).map((type) => [type, containerdStore ? true : `${version} has no "${type}" exporter without the containerd image store; use "moby", "local" or "tar"`]),
          ),
        }
      : { moby: `a standalone buildkitd has no "moby" exporter (that is dockerd's); use "image", "oci" or "docker"`, local: true, tar: true, image: true, oci: true, docker: true }
    const platforms: Platform[] = []
    for (const worker of workers) {
      for (const platform of worker.platforms) {
        if (!platforms.some((known) => known.os === platform.os && known.architecture === platform.architecture && known.variant === platform.variant)) platforms.push(platform)
      }
    }
    return { workers, platforms, llbCaps, frontendCaps, exporters, info, dockerVersion, docker, hasCap: (id) => enabled.has(id) }
  }

  // ---- Sessions -----------------------------------------------------------------------------------------

  /** Creates a session and attaches it to the engine. Close it when the builds that use it are done. */
  async createSession(options: SessionOptions = {}): Promise<Session> {
    const session = new Session(options)
    await this.attachSession(session)
    return session
  }

  /** Attaches a session created with `new Session(...)`. */
  async attachSession(session: Session): Promise<void> {
    const address = this.address
    await session.attach(async (headers) => {
      if (address.kind === 'docker') return dockerUpgrade(address, '/session', headers)
      const metadata: Record<string, string[]> = {}
      for (const [name, value] of headers) (metadata[name.toLowerCase()] ??= []).push(value)
      return bytesMessageDuplex(this.channel.open(`${CONTROL}Session`, { metadata }))
    })
  }

  // ---- Solve --------------------------------------------------------------------------------------------

  private async checkExports(exports: Export[]): Promise<void> {
    if (exports.length === 0) return
    for (const exp of exports) {
      if ((DIRECTORY_EXPORTERS.has(exp.type) || TARBALL_EXPORTERS.has(exp.type)) && !('dest' in exp && exp.dest)) {
        throw new BuildkitError('BUILDKIT_INVALID_REQUEST', `the "${exp.type}" export needs a destination (dest)`)
      }
    }
    const universal = exports.length === 1 && (exports[0]?.type === 'local' || exports[0]?.type === 'tar')
    if (universal) return
    const caps = await this.capabilities()
    for (const exp of exports) {
      const available = caps.exporters[exp.type]
      if (available !== true) {
        throw new BuildkitError('BUILDKIT_UNSUPPORTED', `The engine at ${this.address.url} cannot export "${exp.type}": ${available ?? 'unknown exporter'}.`, { address: this.address.url })
      }
    }
    if (exports.length > 1 && !caps.hasCap('exporter.multiple')) {
      throw new BuildkitError('BUILDKIT_UNSUPPORTED', `The engine at ${this.address.url}${caps.dockerVersion ? ` (dockerd ${caps.dockerVersion})` : ''} runs one exporter per solve (no "exporter.multiple" capability, BuildKit < 0.13); got ${exports.length}.`, {
        address: this.address.url,
      })
    }
  }

  /**
   * Runs `work` with a session suited to the exports: the caller's session when it can take this solve's exports
   * (one client-side export per session at a time), otherwise a sibling session with the same dirs and secrets.
   */
  private async withSession<T>(request: SolveCommon, work: (session: Session, exportsDone: () => Promise<Error[]>) => Promise<T>): Promise<T> {
    const targets = (request.exports ?? []).map(exportTarget)
    const needsSlot = targets.some((target) => target !== undefined)
    let session = request.session
    let owned = false
    let claim = needsSlot && session ? session.claimExport(targets.filter((t): t is ExportTarget => t !== undefined)) : undefined
    if (!session || (needsSlot && !claim)) {
      session = session ? session.sibling() : new Session()
      owned = true
      await this.attachSession(session)
      if (needsSlot) claim = session.claimExport(targets.filter((t): t is ExportTarget => t !== undefined))
    }
    try {
      return await work(session, async () => (claim ? claim.wait() : []))
    } finally {
      claim?.release()
      if (owned) await session.close()
    }
  }

  /** Solves a Definition or runs a frontend, exports the result and resolves with the exporter response. */
  async solve(request: SolveRequest): Promise<SolveResult> {
    if (request.definition && request.frontend) throw new BuildkitError('BUILDKIT_INVALID_REQUEST', 'a solve takes either a definition or a frontend, not both')
    const definition = request.definition ? definitionBytes(request.definition) : undefined
    const frontendInputs = Object.fromEntries(Object.entries(request.frontendInputs ?? {}).map(([name, input]) => [name, definitionBytes(input)]))
    return this.runSolve(request, { definition, frontend: request.frontend ?? '', frontendAttrs: request.frontendAttrs ?? {}, frontendInputs })
  }

  private async runSolve(
    request: SolveCommon,
    body: { definition: Uint8Array | undefined; frontend: string; frontendAttrs: Record<string, string>; frontendInputs: Record<string, Uint8Array> },
    during?: (ref: string, signal: AbortSignal) => Promise<void>,
  ): Promise<SolveResult> {
    const exports = request.exports ?? []
    await this.checkExports(exports)
    request.signal?.throwIfAborted()
    const ref = request.ref ?? newId()
    return this.withSession(request, async (session, exportsDone) => {
      const controller = new AbortController()
      const abort = (): void => controller.abort(request.signal?.reason)
      request.signal?.addEventListener('abort', abort, { once: true })
      const stopOnSessionClose = session.onClose((error) => controller.abort(error))
      const exporter = exports.length === 1 ? exports[0] : undefined
      const solveRequest: control.SolveRequest.$Properties = {
        Ref: ref,
        Session: session.id,
        Frontend: body.frontend,
        FrontendAttrs: body.frontendAttrs,
        FrontendInputs: body.frontendInputs,
        Entitlements: request.entitlements ?? [],
        Cache: {
          Imports: (request.cacheImports ?? []).map((entry) => ({ Type: entry.type, Attrs: entry.attrs ?? {} })),
          Exports: (request.cacheExports ?? []).map((entry) => ({ Type: entry.type, Attrs: entry.attrs ?? {} })),
        },
      }
      if (body.definition) solveRequest.Definition = body.definition
      if (exporter) {
        solveRequest.Exporter = exporter.type
        solveRequest.ExporterAttrs = exporterAttrs(exporter)
      } else if (exports.length > 1) {
        solveRequest.Exporters = exports.map((exp) => ({ Type: exp.type, Attrs: exporterAttrs(exp) }))
      }
      const statusDone = (async () => {
        if (!request.onEvent) return
        try {
          for await (const event of this.status(ref, { signal: controller.signal })) request.onEvent(event)
        } catch {
          // Status is best effort: the Solve call reports the outcome.
        }
      })()
      const solveCall = this.unary(`${CONTROL}Solve`, control.SolveRequest.encode(solveRequest).finish(), (bytes) => control.SolveResponse.decode(bytes), { signal: controller.signal })
      const sideWork = during ? during(ref, controller.signal) : undefined
      try {
        const [response] = await Promise.all([solveCall, sideWork])
        const errors = await exportsDone()
        if (errors.length > 0) throw new BuildkitError('BUILDKIT_FILE_TRANSFER', `The export failed: ${errors.map((error) => error.message).join('; ')}`, { cause: errors[0] })
        await Promise.race([statusDone, new Promise((resolve) => setTimeout(resolve, 3000).unref())])
        return { ref, exporterResponse: { ...(response.ExporterResponse ?? {}) } }
      } catch (error) {
        const exportErrors = await Promise.race([exportsDone(), new Promise<Error[]>((resolve) => setTimeout(() => resolve([]), 1000).unref())])
        if (exportErrors.length > 0 && !isBuildkitError(error, 'BUILDKIT_CANCELLED')) {
          throw new BuildkitError('BUILDKIT_FILE_TRANSFER', `The export failed: ${exportErrors.map((e) => e.message).join('; ')}`, { cause: exportErrors[0] })
        }
        if (controller.signal.aborted && isBuildkitError(controller.signal.reason, 'BUILDKIT_SESSION')) {
          // The session and the calls usually share the engine's fate; give the connection a moment to report it.
          await new Promise((resolve) => setTimeout(resolve, 200))
          const lost = this.channel.closed
          throw new BuildkitError(
            lost ? 'BUILDKIT_CONNECTION_LOST' : 'BUILDKIT_SESSION',
            lost
              ? `The connection to the engine at ${this.address.url} was lost during build ${ref}`
              : `The build ${ref} lost its session with the engine at ${this.address.url}: ${controller.signal.reason.message}`,
            { address: this.address.url, cause: controller.signal.reason },
          )
        }
        throw solveError(error)
      } finally {
        controller.abort()
        stopOnSessionClose()
        request.signal?.removeEventListener('abort', abort)
        await statusDone.catch(() => undefined)
        await solveCall.catch(() => undefined)
      }
    })
  }

  /**
   * A client-driven gateway build (wire doc 9, 12 C): the engine runs `work` as the frontend of a solve, which
   * can solve Definitions, read files of results, resolve image configs, and returns the result to export.
   */
  async build<T extends GatewayReturn | undefined | { value?: unknown }>(
    request: BuildRequest,
    work: (gateway: Gateway) => Promise<T>,
  ): Promise<SolveResult & { value: T }> {
    let value!: T
    const result = await this.runSolve(request, { definition: undefined, frontend: '', frontendAttrs: request.frontendAttrs ?? {}, frontendInputs: {} }, async (ref, signal) => {
      const gateway = new Gateway(this.channel, ref, signal)
      await gateway.waitReady()
      try {
        value = await work(gateway)
      } catch (error) {
        await gateway.returnError(error).catch(() => undefined)
        throw error
      }
      await gateway.return(value && typeof value === 'object' && ('ref' in value || 'metadata' in value || 'imageConfig' in value) ? (value as GatewayReturn) : {})
    })
    return { ...result, value }
  }
}

/** LLBBridge calls for one gateway build (see `BuildkitClient.build`). */
export class Gateway {
  private pong: gatewayPB.PongResponse | undefined

  constructor(
    private readonly channel: GrpcChannel,
    readonly ref: string,
    private readonly signal: AbortSignal,
  ) {}

  private call<T>(method: string, request: Uint8Array, decode: (bytes: Uint8Array) => T): Promise<T> {
    return this.channel.unary(`${BRIDGE}${method}`, request, { signal: this.signal, metadata: { 'buildkit-controlapi-buildid': this.ref } }).then(decode)
  }

  /**
   * The engine registers the build's forwarder shortly after Solve starts; wait until Ping answers. Retries back
   * off from 2 ms to at most 50 ms, so a build usually starts within a few milliseconds of the engine being ready.
   * Resolves with the engine's answer (also kept as `readyPong`).
   */
  async waitReady(): Promise<gatewayPB.PongResponse> {
    const deadline = Date.now() + 10_000
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      try {
        this.pong = await this.ping()
        return this.pong
      } catch (error) {
        const retryable = isBuildkitError(error, 'BUILDKIT_RPC') && /no such job|not found|no ref/i.test(error.message)
        if (!retryable || Date.now() > deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }

  /** The Ping answer `waitReady` got (LLB and frontend caps), once the build is ready. */
  get readyPong(): gatewayPB.PongResponse | undefined {
    return this.pong
  }

  ping(): Promise<gatewayPB.PongResponse> {
    return this.call('Ping', gatewayPB.PingRequest.encode({}).finish(), (bytes) => gatewayPB.PongResponse.decode(bytes))
  }

  /** Solves inside the build and returns a reference to the result (lazy unless `evaluate`). */
  async solve(request: GatewaySolveRequest): Promise<GatewayRef> {
    const body: gatewayPB.SolveRequest.$Properties = {
      Frontend: request.frontend ?? '',
      FrontendOpt: request.frontendOpt ?? {},
      FrontendInputs: Object.fromEntries(Object.entries(request.frontendInputs ?? {}).map(([name, input]) => [name, definitionBytes(input)])),
      allowResultReturn: true,
      allowResultArrayRef: true,
      Evaluate: request.evaluate ?? false,
    }
    if (request.definition) body.Definition = definitionBytes(request.definition)
    const response = await this.call('Solve', gatewayPB.SolveRequest.encode(body).finish(), (bytes) => gatewayPB.SolveResponse.decode(bytes))
    const result = response.result
    const metadata = result?.metadata && Object.keys(result.metadata).length > 0 ? { metadata: { ...result.metadata } } : {}
    if (result?.ref) return { id: result.ref.id ?? '', definition: result.ref.def ?? new Uint8Array(), ...metadata }
    if (result?.refDeprecated !== undefined && result.refDeprecated !== null) return { id: result.refDeprecated, definition: new Uint8Array() }
    return { id: response.ref ?? '', definition: new Uint8Array() }
  }

  async readFile(ref: GatewayRef | string, path: string, range?: { offset: number; length: number }): Promise<Uint8Array> {
    const request: gatewayPB.ReadFileRequest.$Properties = { Ref: typeof ref === 'string' ? ref : ref.id, FilePath: path }
    if (range) request.Range = { Offset: range.offset, Length: range.length }
    const response = await this.call('ReadFile', gatewayPB.ReadFileRequest.encode(request).finish(), (bytes) => gatewayPB.ReadFileResponse.decode(bytes))
    return response.Data ?? new Uint8Array()
  }

  async readDir(ref: GatewayRef | string, path: string, includePattern?: string): Promise<FileStat[]> {
    const response = await this.call(
      'ReadDir',
      gatewayPB.ReadDirRequest.encode({ Ref: typeof ref === 'string' ? ref : ref.id, DirPath: path, IncludePattern: includePattern ?? '' }).finish(),
      (bytes) => gatewayPB.ReadDirResponse.decode(bytes),
    )
    return (response.entries ?? []).map((entry) => toStat(entry as fstypes.Stat))
  }

  async statFile(ref: GatewayRef | string, path: string): Promise<FileStat> {
    const response = await this.call('StatFile', gatewayPB.StatFileRequest.encode({ Ref: typeof ref === 'string' ? ref : ref.id, Path: path }).finish(), (bytes) => gatewayPB.StatFileResponse.decode(bytes))
    return toStat(response.stat as fstypes.Stat)
  }

  /** Resolves an image reference to its digest and OCI image config (from the engine's store or registry). */
  async resolveImageConfig(ref: string, options: { platform?: Platform; resolveMode?: 'default' | 'pull' | 'local' } = {}): Promise<{ digest: string; config: Record<string, unknown> }> {
    const request: gatewayPB.ResolveImageConfigRequest.$Properties = { Ref: ref, ResolveMode: options.resolveMode ?? 'default' }
    if (options.platform) request.Platform = { OS: options.platform.os, Architecture: options.platform.architecture, Variant: options.platform.variant ?? '' }
    const response = await this.call('ResolveImageConfig', gatewayPB.ResolveImageConfigRequest.encode(request).finish(), (bytes) => gatewayPB.ResolveImageConfigResponse.decode(bytes))
    return { digest: response.Digest ?? '', config: JSON.parse(Buffer.from(response.Config ?? []).toString() || '{}') as Record<string, unknown> }
  }

  /** Ends the build with a result (called by `BuildkitClient.build` with what `work` returned). */
  async return(result: GatewayReturn): Promise<void> {
    const metadata: Record<string, Uint8Array> = {}
    for (const [key, value] of Object.entries(result.metadata ?? {})) metadata[key] = typeof value === 'string' ? Buffer.from(value) : value
    if (result.imageConfig !== undefined) metadata['containerimage.config'] = Buffer.from(JSON.stringify(result.imageConfig))
    const body: gatewayPB.Result.$Properties = { metadata }
    if (result.ref) body.ref = { id: result.ref.id, def: result.ref.definition }
    await this.call('Return', gatewayPB.ReturnRequest.encode({ result: body }).finish(), (bytes) => gatewayPB.ReturnResponse.decode(bytes))
  }

  /** Ends the build with an error. */
  async returnError(error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error)
    await this.call('Return', gatewayPB.ReturnRequest.encode({ error: rpc.Status.create({ code: GrpcStatus.UNKNOWN, message }) }).finish(), (bytes) => gatewayPB.ReturnResponse.decode(bytes))
  }
}

/** Connects to an engine. Shorthand for `BuildkitClient.connect`. */
export function connect(options: ConnectOptions = {}): Promise<BuildkitClient> {
  return BuildkitClient.connect(options)
}

