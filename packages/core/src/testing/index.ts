/**
 * `@kiln/core/testing`: unit-test a node type's schema and compile without an engine.
 *
 * @packageDocumentation
 */
import type { Artifact, FilesystemArtifact, ImageArtifact, ImageConfig, StateLike } from '../artifacts.js'
import { LLB_STATE } from '../artifacts.js'
import type { CompiledOutputs, CompileContext, Node, OutputKinds, ParamValue, Phase, TargetSpec } from '../node-type.js'
import { DEFAULT_OUTPUTS } from '../node-type.js'
import type { NodeType } from '../node-type.js'
import type { EngineServices, FrontendRequest, ReadDirEntry, ResolvedImage } from '../engine.js'
import type { Finding } from '../compile.js'
import { createCompileContext } from '../compile.js'
import { CoreError, GraphError, GraphValidationError, PluginError } from '../errors.js'
import { createGraph } from '../graph.js'
import { createRegistry } from '../plugin.js'
import type { Reference } from '../reference.js'
import { findReferences } from '../reference.js'
import type { z } from 'zod'

/** A stand-in for an llb `State` in tests: carries the llb marker and a label to assert on. */
export interface FakeState {
  readonly [LLB_STATE]: true
  readonly label: string
}

/** Creates a {@link FakeState}. */
export function fakeState(label: string): FakeState {
  return { [LLB_STATE]: true, label }
}

/** The label of a {@link FakeState} (or `undefined` for any other state). */
export function stateLabel(state: StateLike): string | undefined {
  const label = (state as { label?: unknown }).label
  return typeof label === 'string' ? label : undefined
}

/** A filesystem artifact over a {@link FakeState}. */
export function fakeFilesystem(label: string): FilesystemArtifact {
  return { kind: 'filesystem', state: fakeState(label) }
}

/** An image artifact over a {@link FakeState}. */
export function fakeImage(label: string, config: ImageConfig = {}): ImageArtifact {
  return { kind: 'image', state: fakeState(label), config }
}

/** What a fake engine knows: files by path, image configs by reference, and a frontend implementation. */
export interface FakeEngineOptions {
  /** File contents by path; every state reads the same files unless `readFile` is given. */
  readonly files?: Readonly<Record<string, string | Uint8Array>>
  readonly images?: Readonly<Record<string, ImageConfig | ResolvedImage>>
  readonly solveFrontend?: (request: FrontendRequest) => Promise<ImageArtifact | FilesystemArtifact>
}

/** Engine services backed by in-memory data, recording each call in `calls`. */
export interface FakeEngineServices extends EngineServices {
  readonly calls: { readonly method: keyof EngineServices; readonly args: readonly unknown[] }[]
}

/**
 * Creates engine services for tests: `readFile`/`readDir` serve `files`, `resolveImageConfig` serves `images`,
 * `solveFrontend` calls the given function (or fails). Unknown paths and images throw `EngineError`-like
 * `CoreError`s (`BUILDKIT_SOLVE_FAILED`).
 */
export function createFakeEngine(options: FakeEngineOptions = {}): FakeEngineServices {
  const encoder = new TextEncoder()
  const files = new Map(Object.entries(options.files ?? {}).map(([path, content]) => [normalise(path), typeof content === 'string' ? encoder.encode(content) : content]))
  const calls: FakeEngineServices['calls'] = []
  return {
    calls,
    async readFile(state, path) {
      calls.push({ method: 'readFile', args: [state, path] })
      const content = files.get(normalise(path))
      if (content === undefined) throw new CoreError('BUILDKIT_SOLVE_FAILED', `No such file: expected ${path} in the result, received nothing`, { expected: path, received: 'nothing' })
      return content
    },
    async readDir(state, path) {
      calls.push({ method: 'readDir', args: [state, path] })
      const prefix = normalise(path) === '/' ? '/' : `${normalise(path)}/`
      const entries = new Map<string, ReadDirEntry>()
      for (const [file, content] of files) {
        if (!file.startsWith(prefix)) continue
        const [name, ...rest] = file.slice(prefix.length).split('/')
        if (name === undefined || name === '') continue
        entries.set(name, rest.length > 0 ? { name, type: 'directory', size: 0, mode: 0o40755 } : { name, type: 'file', size: content.length, mode: 0o100644 })
      }
      return [...entries.values()].sort((a, b) => a.name.localeCompare(b.name))
    },
    async resolveImageConfig(ref) {
      calls.push({ method: 'resolveImageConfig', args: [ref] })
      const known = options.images?.[ref]
      if (known === undefined) throw new CoreError('BUILDKIT_SOLVE_FAILED', `Unknown image: expected one of ${Object.keys(options.images ?? {}).join(', ') || 'none'}, received ${ref}`, { expected: 'a known image', received: ref })
      return 'digest' in known && typeof known.digest === 'string' ? (known as ResolvedImage) : { digest: `sha256:${'0'.repeat(64)}`, config: known as ImageConfig }
    },
    async solveFrontend(request) {
      calls.push({ method: 'solveFrontend', args: [request] })
      if (options.solveFrontend === undefined) throw new CoreError('BUILDKIT_UNSUPPORTED', `Frontend ${request.frontend}: expected a fake solveFrontend, received none`, { expected: 'a fake solveFrontend', received: 'none' })
      return options.solveFrontend(request)
    },
  }
}

function normalise(path: string): string {
  const trimmed = `/${path}`.replace(/\/+/g, '/').replace(/\/$/, '')
  return trimmed === '' ? '/' : trimmed
}

/** Options of {@link createTestContext}. */
export interface TestContextOptions {
  readonly nodeId?: string
  /** Input artifacts by reference: `"src"` (default output) or `"build.bin"`. */
  readonly inputs?: Readonly<Record<string, Artifact>>
  readonly params?: Readonly<Record<string, ParamValue>>
  /** Declared secret names; without it, any name is accepted. */
  readonly secrets?: readonly string[]
  readonly engine?: EngineServices
  /** The node type's messages, for `report`. */
  readonly messages?: Readonly<Record<string, string>>
}

/** A {@link CompileContext} that records what the node did. */
export interface TestContext extends CompileContext {
  /** Findings reported with `ctx.report()`. */
  readonly reports: Finding[]
  /** Targets declared with `ctx.target()`. */
  readonly targets: TargetSpec[]
}

/**
 * A compile context with fake inputs, params and (optionally) engine services, recording reports and targets.
 * `ctx.input(ref)` looks inputs up as `"node"` (default output) or `"node.output"` and fails with
 * `GRAPH_DANGLING_REFERENCE` for anything not given.
 *
 * @example
 * ```ts
 * const ctx = createTestContext({ inputs: { src: fakeFilesystem('src') }, params: { version: '1.0.0' } })
 * const outputs = await myType.compile({ id: 'n', type: myType.kind, config, after: [] }, ctx)
 * expect(ctx.targets).toHaveLength(1)
 * ```
 */
export function createTestContext(options: TestContextOptions = {}): TestContext {
  const nodeId = options.nodeId ?? 'node'
  const reports: Finding[] = []
  const targets: TargetSpec[] = []
  const inputs = options.inputs ?? {}
  const context = createCompileContext({
    nodeId,
    ...(options.params === undefined ? {} : { params: options.params }),
    ...(options.engine === undefined ? {} : { engine: options.engine }),
    ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
    messages: options.messages ?? {},
    rulePrefix: nodeId,
    resolve: (reference: Reference) => {
      const key = reference.output === 'default' ? reference.node : `${reference.node}.${reference.output}`
      const artifact = inputs[key]
      if (artifact === undefined) {
        throw new GraphError('GRAPH_DANGLING_REFERENCE', `Node "${nodeId}" asked for input "${key}": expected one of ${Object.keys(inputs).join(', ') || 'none'} (test inputs)`, { nodeId, expected: 'a test input', received: `"${key}"` })
      }
      return artifact
    },
    onTarget: (spec) => targets.push(spec),
    onFinding: (finding) => reports.push(finding),
  })
  return Object.assign(context, { reports, targets })
}

/** What {@link NodeTypeTester.compile} returns. */
export interface TestCompileResult<O extends OutputKinds> {
  readonly outputs: CompiledOutputs<O>
  readonly targets: readonly TargetSpec[]
  readonly reports: readonly Finding[]
  /** The parsed config compile received. */
  readonly config: unknown
  readonly phase: Phase
  readonly declaredOutputs: OutputKinds
}

/**
 * Unit-tests one node type without an engine: parse configs as the graph builder would (with its exact
 * `NODE_INVALID_CONFIG` errors), list references, compute outputs, and compile with fake inputs.
 *
 * @example
 * ```ts
 * const tester = new NodeTypeTester(chmod)
 * expect(tester.errors({ from: 'src' })).toEqual([expect.objectContaining({ code: 'NODE_INVALID_CONFIG', path: ['paths'] })])
 * const { outputs } = await tester.compile({ from: 'src', paths: ['a'] }, { inputs: { src: fakeFilesystem('src') } })
 * ```
 */
export class NodeTypeTester<S extends z.ZodType, O extends OutputKinds> {
  readonly nodeType: NodeType<S, O>

  constructor(nodeType: NodeType<S, O>) {
    this.nodeType = nodeType
  }

  /** Validation errors for a config, exactly as `buildGraph` reports them (empty when valid). */
  errors(config: unknown, nodeId = 'node'): readonly CoreError[] {
    try {
      this.graph(config, nodeId)
      return []
    } catch (error) {
      if (error instanceof GraphValidationError) return error.errors.filter((item) => item.code === 'NODE_INVALID_CONFIG' || item.code === 'PLUGIN_ERROR')
      throw error
    }
  }

  /** Parses a config with the schema; throws the `GraphValidationError` `buildGraph` would. */
  parse(config: unknown, nodeId = 'node'): z.output<S> {
    const errors = this.errors(config, nodeId)
    if (errors.length > 0) throw new GraphValidationError(errors)
    return this.nodeType.schema.parse(config) as z.output<S>
  }

  /** The references in a config, as `"node"` / `"node.output"` keyed by path. */
  references(config: unknown): { path: readonly (string | number)[]; node: string; output: string; accepts: readonly string[] }[] {
    return findReferences(this.parse(config)).references.map(({ path, reference }) => ({ path, node: reference.node, output: reference.output, accepts: reference.accepts }))
  }

  /** The outputs the node type declares for a config. */
  outputs(config: unknown): OutputKinds {
    const parsed = this.parse(config)
    const outputs = this.nodeType.outputs
    return outputs === undefined ? DEFAULT_OUTPUTS : typeof outputs === 'function' ? outputs(parsed) : outputs
  }

  /** Parses the config and runs `compile` with a {@link createTestContext} context. Errors are wrapped as in a run. */
  async compile(config: unknown, options: Omit<TestContextOptions, 'messages'> = {}): Promise<TestCompileResult<O>> {
    const nodeId = options.nodeId ?? 'node'
    const parsed = this.parse(config, nodeId)
    const context = createTestContext({ ...options, nodeId, messages: this.nodeType.meta?.messages ?? {} })
    const node: Node<z.output<S>> = { id: nodeId, type: this.nodeType.kind, config: parsed, after: [] }
    let outputs: CompiledOutputs<O>
    try {
      outputs = await this.nodeType.compile(node, context)
    } catch (error) {
      throw new PluginError({ plugin: 'test', hook: 'compile', nodeId, cause: error })
    }
    const phase = this.nodeType.phase === undefined ? 'build' : typeof this.nodeType.phase === 'function' ? this.nodeType.phase(parsed) : this.nodeType.phase
    return { outputs, targets: context.targets, reports: context.reports, config: parsed, phase, declaredOutputs: this.outputs(config) }
  }

  private graph(config: unknown, nodeId: string): void {
    const registry = createRegistry([{ meta: { name: 'test', version: '0.0.0' }, apiVersion: 'v1', nodeTypes: [this.nodeType] }])
    // Referenced nodes are unknown here; only the node's own config is validated.
    try {
      createGraph([{ id: nodeId, type: this.nodeType.kind, config }], registry)
    } catch (error) {
      if (!(error instanceof GraphValidationError)) throw error
      const own = error.errors.filter((item) => item.code === 'NODE_INVALID_CONFIG' || item.code === 'PLUGIN_ERROR')
      if (own.length > 0) throw new GraphValidationError(own)
    }
  }
}
