/**
 * `@kiln/core`: the contract every Kiln package and every third-party plugin builds on. Node types, plugins,
 * artifacts, the graph and its validation, the compiler and the plan, policies, the engine interfaces, events and
 * typed errors. No I/O, no gRPC, no protobuf, no DI container.
 *
 * @packageDocumentation
 */

/**
 * zod 4, re-exported so a plugin writes its schemas with the same copy core parses them with.
 *
 * Why zod 4: one declaration gives the TypeScript type of a config (`z.input` for what users write, `z.output` for
 * what `compile` gets), validation whose issues carry a path into the config (which the CLI maps to a YAML
 * line:column), and a JSON Schema (`z.toJSONSchema`) for editors via `kiln schema`. Its `.meta()` lets `ref()` mark
 * reference fields, it has no dependencies, and it runs on Node 20. Alternatives need two of these tools glued
 * together (TypeBox + ajv gives JSON Schema first but weaker TS ergonomics for transforms; valibot needs a separate
 * JSON Schema converter).
 */
export { z } from 'zod'

export { ERROR_CODES } from './codes.js'
export type { ErrorCode } from './codes.js'
export { CORE_ERROR, CoreError, EngineError, GraphError, GraphValidationError, NodeConfigError, PluginError, isCoreError } from './errors.js'
export type { ConfigPath, CoreErrorFields, PluginHook } from './errors.js'

export {
  ARTIFACT_KINDS,
  LLB_STATE,
  describeKind,
  filesystemArtifact,
  fromOciImageConfig,
  imageArtifact,
  isKindAssignable,
  isStateLike,
  pendingValueArtifact,
  secretArtifact,
  toOciImageConfig,
  valueArtifact,
} from './artifacts.js'
export type {
  Artifact,
  ArtifactKind,
  ArtifactOf,
  FilesystemArtifact,
  ImageArtifact,
  ImageConfig,
  JsonValue,
  KnownValueArtifact,
  OciImageConfig,
  PendingValueArtifact,
  Platform,
  SecretArtifact,
  StateLike,
  ValueArtifact,
} from './artifacts.js'

export { DEFAULT_OUTPUT, ID_PATTERN, createReference, findReferences, isReference, parseReference, ref, secretRef } from './reference.js'
export type { OutputHandleLike, Reference, ReferenceInput, ReferenceSchema, ReferenceSite, SecretReferenceSchema, SecretSite } from './reference.js'

export { DEFAULT_OUTPUTS, defineNodeType, formatMessage } from './node-type.js'
export type {
  CompileContext,
  CompiledOutputs,
  Exporter,
  HookMeta,
  InspectContext,
  Node,
  NodeType,
  OutputKinds,
  ParamValue,
  Phase,
  ReportDescriptor,
  Severity,
  TargetKind,
  TargetSpec,
  ValueSource,
} from './node-type.js'

export { API_VERSION, createRegistry, definePlugin, definePolicy } from './plugin.js'
export type { Plugin, PluginMeta, Policy, PolicyContext, PolicyReportDescriptor, RegisteredNodeType, RegisteredPolicy, Registry } from './plugin.js'

export type { NodeEntry, ParamDeclaration, PipelineConfig, SecretDeclaration } from './config.js'
export { buildGraph, createGraph } from './graph.js'
export type { Graph, GraphEdge, GraphNode, GraphOptions, NodeDeclaration } from './graph.js'

export { compileGraph, createCompileContext } from './compile.js'
export type { CompileContextOptions, CompileOptions, CompiledGraph, CompiledNode, Finding } from './compile.js'
export { createPlan } from './plan.js'
export type { Plan, PlanNode, PlanOptions, Target } from './plan.js'
export { assertAllowed, evaluatePolicies } from './policy.js'
export type { PolicyOptions, PolicyReport } from './policy.js'

export { REDACTED, redact } from './engine.js'
export type {
  Engine,
  EngineCapabilities,
  EngineServices,
  FrontendRequest,
  KilnEvent,
  NodeCachedEvent,
  NodeDoneEvent,
  NodeFailedEvent,
  NodeLogEvent,
  NodeProgressEvent,
  NodeQueuedEvent,
  NodeSkippedEvent,
  NodeStartedEvent,
  ReadDirEntry,
  Reporter,
  ResolvedImage,
  RunFinishedEvent,
  RunResult,
  RunStartedEvent,
  RunStatus,
  RunSummary,
  RunTargetOptions,
  SecretSource,
  TargetResult,
} from './engine.js'

export { createNode, createNodeFactory, defineConfig, isNodeHandle, resolveConfig } from './authoring.js'
export type { ConfigContext, ConfigDefinition, ConfigInput, NodeHandle, NodeInput, NodesInput, OutputHandle } from './authoring.js'

export { nodeTypeJsonSchema, pipelineJsonSchema } from './json-schema.js'
export type { JsonSchema } from './json-schema.js'
