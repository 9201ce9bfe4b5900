import type { FilesystemArtifact, ImageArtifact, ImageConfig, JsonValue, Platform, StateLike } from './artifacts.js'
import type { CoreError } from './errors.js'
import type { Target } from './plan.js'

/** One entry of a directory listing of a solved result. */
export interface ReadDirEntry {
  readonly name: string
  readonly type: 'file' | 'directory' | 'symlink' | 'other'
  readonly size: number
  /** Unix mode bits, including the file type bits. */
  readonly mode: number
}

/** A resolved image config: what `resolveImageConfig` returns. */
export interface ResolvedImage {
  /** The manifest digest (`sha256:…`). */
  readonly digest: string
  readonly config: ImageConfig
  readonly platform?: Platform
}

/** A frontend solve request, e.g. BuildKit's `dockerfile.v0`. */
export interface FrontendRequest {
  /** `dockerfile.v0`, or a gateway image. */
  readonly frontend: string
  /** Frontend options (`filename`, `target`, `build-arg:NAME`, `label:NAME`, `platform`, `no-cache`, …). */
  readonly options?: Readonly<Record<string, string>>
  /** Named inputs (`context`, `dockerfile`), each an LLB state. */
  readonly inputs?: Readonly<Record<string, StateLike>>
  /** Secret names the frontend may mount (`RUN --mount=type=secret,id=NAME`). */
  readonly secrets?: readonly string[]
}

/**
 * What node types may ask of an engine while compiling or inspecting, injected by the runtime as `ctx.engine`.
 * Implemented by `@kiln/buildkit`; faked by `@kiln/core/testing`. Every method may throw an `EngineError`
 * (`BUILDKIT_*`).
 */
export interface EngineServices {
  /** Solves `state` (from cache when possible) and reads one file of the result. */
  readFile(state: StateLike, path: string): Promise<Uint8Array>
  /** Solves `state` and lists one directory of the result. */
  readDir(state: StateLike, path: string): Promise<readonly ReadDirEntry[]>
  /** Resolves an image reference to its digest and config, as the engine sees it. */
  resolveImageConfig(ref: string, options?: { readonly platform?: Platform }): Promise<ResolvedImage>
  /**
   * Runs a frontend (e.g. `dockerfile.v0`) and returns its result as an artifact later nodes consume: an image
   * when the frontend produced an image config, a filesystem otherwise. The returned state is the frontend's LLB,
   * so it joins the rest of the run's graph.
   */
  solveFrontend(request: FrontendRequest): Promise<ImageArtifact | FilesystemArtifact>
}

/** What an engine can do, read from the engine before running. */
export interface EngineCapabilities {
  /** e.g. `dockerd`, `buildkitd`. */
  readonly name: string
  /** The engine's version (`26.1.5`). */
  readonly version: string
  /** The BuildKit version inside (`v0.13.2`), if known. */
  readonly buildkitVersion?: string
  /** LLB capability ids the engine enabled (`exec.mount.cache`, `file.base`, `mergeop`, …). */
  readonly caps: readonly string[]
  /** Capability ids the engine reports as disabled. */
  readonly disabledCaps: readonly string[]
  /** Exporter names it supports (`local`, `tar`, `oci`, `docker`, `image`, `moby`). */
  readonly exporters: readonly string[]
  /** Whether several exporters may run in one solve. */
  readonly multipleExporters: boolean
  readonly platforms: readonly Platform[]
}

/** What the runtime passes to {@link Engine.run}. */
export interface RunTargetOptions {
  /** Cancels the solve on the engine. */
  readonly signal?: AbortSignal
  /** Receives `node.log`, `node.progress` and `node.cached` events for the target's node. */
  readonly emit: (event: KilnEvent) => void
  /** Where secret bytes come from; only the session reads them. */
  readonly secrets?: SecretSource
}

/** The result of running one target on the engine. */
export interface TargetResult {
  /** Whether every vertex was served from cache. */
  readonly cached: boolean
  /** The exporter's response (`containerimage.digest`, …). */
  readonly exporterResponse: Readonly<Record<string, string>>
  /** The values collected per `TargetSpec.values`. */
  readonly values: Readonly<Record<string, JsonValue>>
}

/**
 * An engine: BuildKit behind some address. Implemented by `@kiln/buildkit` and wired by the CLI. Errors are
 * `EngineError`s (`BUILDKIT_UNAVAILABLE`, `BUILDKIT_UNSUPPORTED` naming the feature and engine version, …).
 */
export interface Engine {
  capabilities(): Promise<EngineCapabilities>
  /** Solves a target's state with its exporter (or none), streaming events, honouring the abort signal. */
  run(target: Target, options: RunTargetOptions): Promise<TargetResult>
  /** The services injected into compile and inspect hooks. */
  readonly services: EngineServices
  close(): Promise<void>
}

/** Timing fields every event has. */
interface EventBase {
  /** Milliseconds since the epoch. */
  readonly time: number
}

/** A node entered the queue. */
export interface NodeQueuedEvent extends EventBase {
  readonly type: 'node.queued'
  readonly nodeId: string
}
/** A node's first target started on the engine. */
export interface NodeStartedEvent extends EventBase {
  readonly type: 'node.started'
  readonly nodeId: string
  readonly targetId?: string
}
/** A step (vertex) of a node was served from cache. */
export interface NodeCachedEvent extends EventBase {
  readonly type: 'node.cached'
  readonly nodeId: string
  readonly vertex?: string
}
/** Output of a step. Already redacted: reporters may print it as is. */
export interface NodeLogEvent extends EventBase {
  readonly type: 'node.log'
  readonly nodeId: string
  readonly stream: 'stdout' | 'stderr'
  readonly text: string
  readonly vertex?: string
}
/** Progress of a step (a vertex started or completed; bytes transferred). */
export interface NodeProgressEvent extends EventBase {
  readonly type: 'node.progress'
  readonly nodeId: string
  /** The vertex digest. */
  readonly vertex: string
  /** The vertex's display name (`[build 2/3] RUN make`). */
  readonly name: string
  readonly started?: number
  readonly completed?: number
  readonly current?: number
  readonly total?: number
}
/** A node finished successfully. */
export interface NodeDoneEvent extends EventBase {
  readonly type: 'node.done'
  readonly nodeId: string
  readonly durationMs: number
  readonly cached: boolean
  readonly values?: Readonly<Record<string, JsonValue>>
}
/** A node failed. */
export interface NodeFailedEvent extends EventBase {
  readonly type: 'node.failed'
  readonly nodeId: string
  readonly durationMs: number
  readonly error: { readonly code?: string; readonly message: string }
}
/** A node did not run (a dependency failed, a check failed before a publish, the run was cancelled). */
export interface NodeSkippedEvent extends EventBase {
  readonly type: 'node.skipped'
  readonly nodeId: string
  readonly reason: string
}
/** The run started. */
export interface RunStartedEvent extends EventBase {
  readonly type: 'run.started'
  readonly nodes: readonly string[]
}
/** The run finished. */
export interface RunFinishedEvent extends EventBase {
  readonly type: 'run.finished'
  readonly ok: boolean
  readonly durationMs: number
}

/** Everything a run reports, as a discriminated union on `type`. Never contains secret values. */
export type KilnEvent =
  | NodeQueuedEvent
  | NodeStartedEvent
  | NodeCachedEvent
  | NodeLogEvent
  | NodeProgressEvent
  | NodeDoneEvent
  | NodeFailedEvent
  | NodeSkippedEvent
  | RunStartedEvent
  | RunFinishedEvent

/** Consumes events: the TTY view, plain logs, JSON lines. */
export interface Reporter {
  onEvent(event: KilnEvent): void
  /** Called once at the end with every node's result. */
  close?(summary: RunSummary): void | Promise<void>
}

/** How one node ended. */
export type RunStatus = 'ok' | 'cached' | 'failed' | 'skipped'

/** The result of one node in a run. */
export interface RunResult {
  readonly nodeId: string
  readonly status: RunStatus
  readonly durationMs: number
  readonly startedAt?: number
  readonly finishedAt?: number
  /** Run-time values by output name (a digest after a push, a URL after a deploy). */
  readonly values: Readonly<Record<string, JsonValue>>
  readonly error?: CoreError | { readonly code?: string; readonly message: string }
}

/** The result of a run. */
export interface RunSummary {
  readonly ok: boolean
  readonly durationMs: number
  readonly results: readonly RunResult[]
}

/**
 * Where secret bytes come from at run time (env, files, a keychain), by the names declared under `secrets:`.
 * Only the engine session calls it; values never enter LLB, artifacts, events or reports.
 */
export interface SecretSource {
  /** The secret's bytes, or a `SECRET_NOT_FOUND` error naming it. */
  resolve(name: string): Promise<Uint8Array>
}

/** What {@link redact} puts in place of a secret. */
export const REDACTED = '***'

/**
 * Replaces every occurrence of each secret value in `text` with `***`. Longer secrets are replaced first so a
 * secret that contains another is hidden whole. Values shorter than 4 characters are ignored (they would redact
 * ordinary text).
 *
 * @example
 * ```ts
 * redact('token=s3cr3t-value', ['s3cr3t-value']) // 'token=***'
 * ```
 */
export function redact(text: string, secrets: Iterable<string | Uint8Array>): string {
  const decoder = new TextDecoder()
  const values = [...secrets]
    .map((item) => (typeof item === 'string' ? item : decoder.decode(item)))
    .flatMap((item) => [item, item.trim()])
    .filter((item, index, all) => item.length >= 4 && all.indexOf(item) === index)
    .sort((a, b) => b.length - a.length)
  let result = text
  for (const item of values) result = result.split(item).join(REDACTED)
  return result
}
