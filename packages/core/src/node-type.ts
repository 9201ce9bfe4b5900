import type { z } from 'zod'
import type { ArtifactKind, ArtifactOf, ImageConfig, JsonValue, Platform, SecretArtifact, StateLike } from './artifacts.js'
import type { EngineServices, ReadDirEntry } from './engine.js'
import type { ConfigPath } from './errors.js'
import type { Reference } from './reference.js'

/**
 * When a node's work runs. `build` nodes run as soon as their inputs are ready; `check` nodes are checks and tests;
 * `publish` nodes are side effects (push, deploy, export to the outside): their targets run only after every
 * `build` and `check` target of the run succeeded, and are never served from cache unless the node type asks.
 */
export type Phase = 'build' | 'check' | 'publish'

/** A finding's severity: `warn` is reported, `deny` blocks the run (or fails the check). */
export type Severity = 'warn' | 'deny'

/** The output names of a node type and the kind of each. The default output is named `default`. */
export type OutputKinds = Readonly<Record<string, ArtifactKind>>

/** The artifacts a compile returns: one per declared output, of the declared kind. */
export type CompiledOutputs<O extends OutputKinds = OutputKinds> = { readonly [N in keyof O]: ArtifactOf<O[N]> }

/** A value a param may take. */
export type ParamValue = string | number | boolean

/** A node as a node type's hooks see it: its id, its type, its parsed config and its explicit ordering edges. */
export interface Node<C = unknown> {
  readonly id: string
  readonly type: string
  readonly config: C
  readonly after: readonly string[]
}

/** A finding a hook reports, against the hook owner's `meta.messages`. */
export interface ReportDescriptor {
  /** A key of `meta.messages`. */
  readonly messageId: string
  /** Values for the `{{name}}` placeholders of the message. */
  readonly data?: Readonly<Record<string, unknown>>
  /** Defaults to `warn` in compile and to the policy's severity in policies. */
  readonly severity?: Severity
  /** Where in the node's config the finding is about. */
  readonly path?: ConfigPath
}

/**
 * Where a target's result goes. No exporter means "solve it, keep it in the engine's cache".
 * `image` stores an image in the engine (dockerd's image store, `moby` exporter) or pushes it (`push: true`).
 */
export type Exporter =
  | { readonly type: 'local'; readonly dest: string }
  | { readonly type: 'tar'; readonly dest: string }
  | { readonly type: 'oci'; readonly dest: string; readonly name?: string }
  | { readonly type: 'docker'; readonly dest: string; readonly name: string }
  | { readonly type: 'image'; readonly name: string; readonly push?: boolean; readonly insecure?: boolean }

/** What a target materialises. `publish` targets are side effects; see {@link Phase}. */
export type TargetKind = 'build' | 'export' | 'check' | 'publish'

/**
 * How the runtime turns a solved target into one of the node's run-time values (recorded in `RunResult.values`,
 * and what a `PendingValueArtifact` resolves to).
 */
export type ValueSource =
  /** A key of the exporter's response, e.g. `containerimage.digest`. */
  | { readonly from: 'exporter'; readonly key: string }
  /** The text of a file in the solved result, trimmed. */
  | { readonly from: 'file'; readonly path: string; readonly json?: boolean }

/** What a content check's `inspect` hook gets: the solved result, readable through the engine. */
export interface InspectContext {
  readonly nodeId: string
  /** Reads a file of the solved result. */
  readFile(path: string): Promise<Uint8Array>
  /** Lists a directory of the solved result. */
  readDir(path: string): Promise<readonly ReadDirEntry[]>
  /** The image config of the target, if it is an image. */
  readonly imageConfig?: ImageConfig
  /** Reports a finding against the node type's `meta.messages`; a `deny` fails the node. */
  report(descriptor: ReportDescriptor): void
}

/**
 * Something a node asks the runtime to materialise, declared from `compile` with `ctx.target()`. A node that
 * declares no target gets one `build` target per filesystem or image output (solve it, export nothing).
 */
export interface TargetSpec {
  /** Unique within the node; defaults to the kind (`build`, `export`, …). */
  readonly name?: string
  readonly kind: TargetKind
  /** The LLB state to solve. */
  readonly state: StateLike
  /** Where the result goes; none means solve only. */
  readonly exporter?: Exporter
  /** For image exporters: the config and platform of the image. */
  readonly image?: { readonly config: ImageConfig; readonly platform?: Platform }
  /** Secret names the solve needs from the session. Only names: bytes come from the `SecretSource`. */
  readonly secrets?: readonly string[]
  /** Serve from cache? Defaults to true, and to false for `publish` targets. */
  readonly cache?: boolean
  /** Run-time values to record for the node, by output name. */
  readonly values?: Readonly<Record<string, ValueSource>>
  /** Content checks: runs after the solve, reads produced files and reports findings. */
  readonly inspect?: (context: InspectContext) => void | Promise<void>
  /** One line for `kiln plan`. */
  readonly description?: string
}

/**
 * What `compile` gets besides its node. The host creates one per node; `@kiln/core/testing`'s
 * `createTestContext()` creates one for unit tests.
 */
export interface CompileContext {
  /** The id of the node being compiled. */
  readonly nodeId: string
  /** The run's params, resolved (defaults applied). */
  readonly params: Readonly<Record<string, ParamValue>>
  /**
   * The artifact behind a reference from this node's config. Typed by the kinds the field accepts; a
   * `filesystem` field may receive an image.
   */
  input<K extends ArtifactKind>(reference: Reference<K>): ArtifactOf<K>
  /** A secret by name (or the artifact `secretRef()` parsed). Throws `GRAPH_UNKNOWN_SECRET` if undeclared. */
  secret(name: string | SecretArtifact): SecretArtifact
  /** Reports a finding (e.g. "image not pinned") against the node type's `meta.messages`. */
  report(descriptor: ReportDescriptor): void
  /** Declares something to materialise: a build, an export, a check, a publish. */
  target(spec: TargetSpec): void
  /**
   * Engine services (read a file of a result, resolve an image config, solve a frontend), injected by the runtime.
   * Absent in pure planning and in tests that do not provide a fake.
   */
  readonly engine?: EngineServices
  /** `engine`, or a `NODE_ENGINE_REQUIRED` error naming this node when there is none. */
  requireEngine(): EngineServices
}

/** The messages a node type or policy reports against: `{{name}}` placeholders are filled from `data`. */
export interface HookMeta {
  readonly messages?: Readonly<Record<string, string>>
  /** A URL with more documentation. */
  readonly docs?: string
}

/**
 * A node type: a kind, a config schema, the outputs it produces, and `compile`. Declare one with
 * {@link defineNodeType}.
 */
export interface NodeType<S extends z.ZodType = z.ZodType, O extends OutputKinds = OutputKinds> {
  /** `<plugin>.<name>` (`policy.image`), or a bare name for std kinds and a plugin's main kind. */
  readonly kind: string
  /** One line for `kiln schema` and docs. */
  readonly description?: string
  /** The config schema (everything in the node's entry except `type` and `after`). */
  readonly schema: S
  /** The outputs, statically or from the parsed config. Defaults to `{ default: 'filesystem' }`. */
  readonly outputs?: O | ((config: z.output<S>) => O)
  /** Defaults to `build`. */
  readonly phase?: Phase | ((config: z.output<S>) => Phase)
  /** Messages for `ctx.report()`. */
  readonly meta?: HookMeta
  /**
   * Turns the parsed config and the inputs' artifacts into this node's output artifacts. Called once per node, in
   * topological order, after every node it depends on was compiled. Must not call BuildKit directly: what it needs
   * from the engine goes through `ctx.engine`. May be async.
   */
  compile(node: Node<z.output<S>>, ctx: CompileContext): CompiledOutputs<O> | Promise<CompiledOutputs<O>>
}

/**
 * Declares a node type. An identity function that exists for type inference: the config type comes from the
 * schema (`z.output`), and `compile` must return one artifact per declared output.
 *
 * @example
 * ```ts
 * import { defineNodeType, ref, z } from '@kiln/core'
 * import { isState } from '@kiln/llb'
 *
 * export const chmod = defineNodeType({
 *   kind: 'acme.chmod',
 *   description: 'Make files executable',
 *   schema: z.strictObject({ from: ref('filesystem'), paths: z.array(z.string()).min(1) }),
 *   outputs: { default: 'filesystem' },
 *   compile(node, ctx) {
 *     const input = ctx.input(node.config.from).state // a filesystem, or an image's filesystem
 *     if (!isState(input)) throw new Error('expected an llb State')
 *     const state = input.run({ args: ['chmod', '+x', ...node.config.paths] }).root()
 *     return { default: { kind: 'filesystem', state } }
 *   },
 * })
 * ```
 */
export function defineNodeType<S extends z.ZodType, const O extends OutputKinds = { default: 'filesystem' }>(nodeType: NodeType<S, O>): NodeType<S, O> {
  return nodeType
}

/** The default outputs of a node type that declares none. */
export const DEFAULT_OUTPUTS: OutputKinds = Object.freeze({ default: 'filesystem' })

/** Fills `{{name}}` placeholders in a message from `data`; unknown placeholders stay as written. */
export function formatMessage(template: string, data: Readonly<Record<string, unknown>> = {}): string {
  return template.replace(/\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g, (whole, key: string) => {
    if (!(key in data)) return whole
    const item = data[key]
    return typeof item === 'string' ? item : JSON.stringify(item as JsonValue)
  })
}
