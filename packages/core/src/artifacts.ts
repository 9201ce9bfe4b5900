/**
 * The marker `@kiln/llb` puts on every `State` (`Symbol.for('kiln.llb.state')`). Core never looks inside a state; it
 * only checks the marker. Plugins turn a {@link StateLike} back into a `State` with llb's `isState()`.
 */
export const LLB_STATE: unique symbol = Symbol.for('kiln.llb.state') as never

/**
 * An opaque LLB state (a digest-addressed filesystem snapshot). Core cannot import `@kiln/llb`, so artifacts carry
 * the state as an opaque object: at run time it is an llb `State`, which carries the {@link LLB_STATE} marker. A
 * plugin turns it back into a `State` with llb's `isState()` guard; core never looks inside.
 *
 * It is `object` rather than a branded type on purpose: a brand keyed by core's symbol would not match the symbol
 * type llb declares, so every plugin would need a cast to put an llb `State` into an artifact.
 */
export type StateLike = object

/** Tells whether a value carries the llb state marker. */
export function isStateLike(value: unknown): value is StateLike {
  return typeof value === 'object' && value !== null && LLB_STATE in value
}

/** The kinds of artifact a node output can have. */
export type ArtifactKind = 'filesystem' | 'image' | 'value' | 'secret'

/** Every artifact kind, in a stable order. */
export const ARTIFACT_KINDS: readonly ArtifactKind[] = ['filesystem', 'image', 'value', 'secret']

/** A target platform, as in OCI (`linux/amd64`, `linux/arm64/v8`). */
export interface Platform {
  readonly os: string
  readonly architecture: string
  readonly variant?: string
}

/**
 * The subset of an OCI image config Kiln carries with an image (the `config` object of the OCI image config, with
 * lower-camel names).
 */
export interface ImageConfig {
  /** `KEY=value` entries, in order. */
  readonly env?: readonly string[]
  readonly workingDir?: string
  readonly user?: string
  readonly entrypoint?: readonly string[]
  readonly cmd?: readonly string[]
  readonly labels?: Readonly<Record<string, string>>
  /** Keys like `80/tcp`. */
  readonly exposedPorts?: readonly string[]
  readonly volumes?: readonly string[]
  readonly stopSignal?: string
}

/** A filesystem snapshot: the common currency between nodes. */
export interface FilesystemArtifact {
  readonly kind: 'filesystem'
  readonly state: StateLike
}

/**
 * An image: a filesystem plus its OCI config. Usable wherever a filesystem is expected (see {@link isKindAssignable}).
 */
export interface ImageArtifact {
  readonly kind: 'image'
  readonly state: StateLike
  readonly config: ImageConfig
  readonly platform?: Platform
  /** The image reference it came from, if any (`debian:bookworm`, `registry/app@sha256:…`). */
  readonly ref?: string
}

/** A JSON value. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue }

/**
 * A value known when the graph is compiled (a param, a computed tag, a check report).
 */
export interface KnownValueArtifact<T extends JsonValue = JsonValue> {
  readonly kind: 'value'
  readonly known: true
  readonly value: T
}

/**
 * A value that only exists once a node has run (an image digest after a push, a URL after a deploy). The runtime
 * records it in the node's {@link RunResult.values} under `output`; nodes that need it are compiled after that node
 * ran.
 */
export interface PendingValueArtifact {
  readonly kind: 'value'
  readonly known: false
  /** The node whose run produces the value. */
  readonly node: string
  /** The output name it is recorded under. */
  readonly output: string
}

/** A string or JSON value, known at compile time or produced at run time. */
export type ValueArtifact<T extends JsonValue = JsonValue> = KnownValueArtifact<T> | PendingValueArtifact

/**
 * A secret, by name only. Its bytes travel through the engine session at run time (see `SecretSource`), never in
 * LLB, artifacts, events or reports.
 */
export interface SecretArtifact {
  readonly kind: 'secret'
  readonly name: string
}

/** Any artifact. */
export type Artifact = FilesystemArtifact | ImageArtifact | ValueArtifact | SecretArtifact

/**
 * The artifact a reference of kind `K` resolves to. A `filesystem` reference may receive an image (an image is a
 * filesystem with a config), so it resolves to either.
 */
export type ArtifactOf<K extends ArtifactKind> = K extends 'filesystem'
  ? FilesystemArtifact | ImageArtifact
  : K extends 'image'
    ? ImageArtifact
    : K extends 'value'
      ? ValueArtifact
      : SecretArtifact

/**
 * The kind compatibility rule, in one place: an output of kind `provided` may feed an input that expects
 * `expected` when the kinds are equal, or when an image is given where a filesystem is expected.
 *
 * @example
 * ```ts
 * isKindAssignable('image', 'filesystem') // true: run inside a built image's filesystem
 * isKindAssignable('filesystem', 'image') // false: a filesystem has no image config
 * ```
 */
export function isKindAssignable(provided: ArtifactKind, expected: ArtifactKind): boolean {
  return provided === expected || (provided === 'image' && expected === 'filesystem')
}

/** Builds a filesystem artifact. */
export function filesystemArtifact(state: StateLike): FilesystemArtifact {
  return { kind: 'filesystem', state }
}

/** Builds an image artifact from a state and its config. */
export function imageArtifact(state: StateLike, config: ImageConfig = {}, extra: { platform?: Platform; ref?: string } = {}): ImageArtifact {
  return { kind: 'image', state, config, ...extra }
}

/** Builds a value artifact known at compile time. */
export function valueArtifact<T extends JsonValue>(known: T): KnownValueArtifact<T> {
  return { kind: 'value', known: true, value: known }
}

/** Builds a value artifact that the node `node` produces at run time under `output`. */
export function pendingValueArtifact(node: string, output: string): PendingValueArtifact {
  return { kind: 'value', known: false, node, output }
}

/** Builds a secret artifact (a reference by name). */
export function secretArtifact(name: string): SecretArtifact {
  return { kind: 'secret', name }
}

/** An image config with the OCI field names (`Env`, `WorkingDir`, …), as image configs are written on the wire. */
export interface OciImageConfig {
  Env?: string[]
  WorkingDir?: string
  User?: string
  Entrypoint?: string[]
  Cmd?: string[]
  Labels?: Record<string, string>
  ExposedPorts?: Record<string, object>
  Volumes?: Record<string, object>
  StopSignal?: string
}

/**
 * Core's {@link ImageConfig} with the OCI field names, e.g. for llb's `State.withImageConfig`. Fields that are not set
 * stay absent.
 */
export function toOciImageConfig(config: ImageConfig): OciImageConfig {
  return {
    ...(config.env === undefined ? {} : { Env: [...config.env] }),
    ...(config.workingDir === undefined ? {} : { WorkingDir: config.workingDir }),
    ...(config.user === undefined ? {} : { User: config.user }),
    ...(config.entrypoint === undefined ? {} : { Entrypoint: [...config.entrypoint] }),
    ...(config.cmd === undefined ? {} : { Cmd: [...config.cmd] }),
    ...(config.labels === undefined ? {} : { Labels: { ...config.labels } }),
    ...(config.exposedPorts === undefined ? {} : { ExposedPorts: Object.fromEntries(config.exposedPorts.map((port) => [port, {}])) }),
    ...(config.volumes === undefined ? {} : { Volumes: Object.fromEntries(config.volumes.map((volume) => [volume, {}])) }),
    ...(config.stopSignal === undefined ? {} : { StopSignal: config.stopSignal }),
  }
}

/**
 * The image config of an OCI image config document (the JSON an engine resolves for an image, or a frontend's
 * `containerimage.config`: `{ config: { Env, WorkingDir, … }, os, architecture, … }`) in core's terms, and the
 * platform when the document names one. Fields absent, empty or of the wrong type stay unset.
 */
export function fromOciImageConfig(image: Readonly<Record<string, unknown>>): { config: ImageConfig; platform?: Platform } {
  const oci = (image.config !== null && typeof image.config === 'object' ? image.config : {}) as Record<string, unknown>
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : undefined)
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined)
  const keys = (value: unknown) => (value !== null && typeof value === 'object' ? Object.keys(value) : undefined)
  const config: { -readonly [K in keyof ImageConfig]: ImageConfig[K] } = {}
  const env = strings(oci.Env)
  if (env) config.env = env
  const workingDir = text(oci.WorkingDir)
  if (workingDir) config.workingDir = workingDir
  const user = text(oci.User)
  if (user) config.user = user
  const entrypoint = strings(oci.Entrypoint)
  if (entrypoint) config.entrypoint = entrypoint
  const cmd = strings(oci.Cmd)
  if (cmd) config.cmd = cmd
  if (oci.Labels !== null && typeof oci.Labels === 'object') config.labels = { ...(oci.Labels as Record<string, string>) }
  const exposedPorts = keys(oci.ExposedPorts)
  if (exposedPorts) config.exposedPorts = exposedPorts
  const volumes = keys(oci.Volumes)
  if (volumes) config.volumes = volumes
  const stopSignal = text(oci.StopSignal)
  if (stopSignal) config.stopSignal = stopSignal
  const os = text(image.os)
  const architecture = text(image.architecture)
  const variant = text(image.variant)
  return { config, ...(os && architecture ? { platform: { os, architecture, ...(variant ? { variant } : {}) } } : {}) }
}

/** The article-prefixed name of a kind for messages: `an image`, `a filesystem`. */
export function describeKind(kind: ArtifactKind): string {
  return kind === 'image' ? 'an image' : `a ${kind}`
}
