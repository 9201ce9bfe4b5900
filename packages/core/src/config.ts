import type { ParamValue } from './node-type.js'
import type { Plugin } from './plugin.js'

/** One node's entry in a config: its `type`, optional `after`, and the node type's own fields inline. */
export interface NodeEntry {
  readonly type: string
  /** Node ids this node runs after, without taking any of their outputs. */
  readonly after?: readonly string[]
  readonly [field: string]: unknown
}

/** A declared param: `version: { default: 0.0.0-dev }`, or the default value alone. */
export type ParamDeclaration = ParamValue | { readonly default?: ParamValue; readonly description?: string }

/**
 * A declared secret and where the CLI reads it from at run time. Core only uses the names; the fields are for the
 * `SecretSource` the CLI builds.
 */
export interface SecretDeclaration {
  readonly env?: string
  readonly file?: string
  readonly description?: string
  readonly [field: string]: unknown
}

/**
 * The pure data model of a pipeline: what kiln.yaml holds, and what a kiln.ts resolves to (see `resolveConfig`).
 * `buildGraph` turns it into a validated `Graph`.
 */
export interface PipelineConfig {
  /** Plugin package names (YAML) or plugin objects (TS). Loading them is the CLI's job. */
  readonly plugins?: readonly (string | Plugin)[]
  readonly params?: Readonly<Record<string, ParamDeclaration>>
  readonly secrets?: Readonly<Record<string, SecretDeclaration>>
  readonly nodes: Readonly<Record<string, NodeEntry>>
}

/** Keys of a node entry that belong to the graph, not to the node type's schema. */
export const RESERVED_NODE_KEYS: readonly string[] = ['type', 'after']
