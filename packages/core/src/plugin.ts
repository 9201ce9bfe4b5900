import type { z } from 'zod'
import { CoreError } from './errors.js'
import type { HookMeta, NodeType, OutputKinds, Severity } from './node-type.js'
import type { Plan } from './plan.js'

/** The plugin API version this core implements. */
export const API_VERSION = 'v1'

/** A plugin's identity: usually its package name and version. */
export interface PluginMeta {
  readonly name: string
  readonly version: string
}

/** What a policy's `check` gets besides the plan. */
export interface PolicyContext {
  /**
   * Reports a finding against the policy's `meta.messages`. The severity defaults to the policy's (possibly
   * overridden) severity.
   */
  report(finding: PolicyReportDescriptor): void
}

/** A finding as a policy reports it. */
export interface PolicyReportDescriptor {
  readonly messageId: string
  readonly data?: Readonly<Record<string, unknown>>
  readonly severity?: Severity
  /** The node the finding is about. */
  readonly nodeId?: string
  /** The target the finding is about. */
  readonly targetId?: string
}

/**
 * A graph policy: sees the whole compiled plan (nodes, artifacts, edges, phases, targets) before anything runs and
 * reports findings. A `deny` finding blocks the run. Declare one with {@link definePolicy}.
 */
export interface Policy {
  /** The rule name findings carry (`policy.pinned-images`). */
  readonly name: string
  readonly description?: string
  /** The severity of findings that do not set one. Defaults to `deny`. */
  readonly severity?: Severity
  readonly meta?: HookMeta
  check(plan: Plan, ctx: PolicyContext): void | Promise<void>
}

/**
 * Declares a policy (identity, for type inference).
 *
 * @example
 * ```ts
 * export const noHostNetwork = definePolicy({
 *   name: 'acme.no-publish-without-check',
 *   meta: { messages: { unchecked: 'Publish node {{node}} does not depend on any check.' } },
 *   check(plan, ctx) {
 *     for (const node of plan.nodes) {
 *       if (node.phase === 'publish' && !plan.upstream(node.id).some((id) => plan.node(id)?.phase === 'check'))
 *         ctx.report({ messageId: 'unchecked', data: { node: node.id }, nodeId: node.id })
 *     }
 *   },
 * })
 * ```
 */
export function definePolicy(policy: Policy): Policy {
  return policy
}

/**
 * A plugin: a plain object naming node types and policies. A plugin package's default export is a function that
 * takes options and returns one.
 */
export interface Plugin {
  readonly meta: PluginMeta
  /** The plugin API the plugin was written against; this core accepts {@link API_VERSION}. */
  readonly apiVersion: typeof API_VERSION
  // `any` config here: a plugin lists node types with unrelated schemas and outputs.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly nodeTypes?: readonly NodeType<any, any>[]
  readonly policies?: readonly Policy[]
}

/**
 * Declares a plugin (identity, for type inference).
 *
 * @example
 * ```ts
 * import pkg from '../package.json' with { type: 'json' }
 *
 * export default function acmePlugin(options: AcmeOptions = {}) {
 *   return definePlugin({
 *     meta: { name: pkg.name, version: pkg.version },
 *     apiVersion: 'v1',
 *     nodeTypes: [chmod],
 *     policies: options.strict ? [noHostNetwork] : [],
 *   })
 * }
 * ```
 */
export function definePlugin<const P extends Plugin>(plugin: P): P {
  return plugin
}

/** A node type together with the plugin that registered it. */
export interface RegisteredNodeType {
  readonly nodeType: NodeType<z.ZodType, OutputKinds>
  readonly plugin: PluginMeta
}

/** A policy together with the plugin that registered it. */
export interface RegisteredPolicy {
  readonly policy: Policy
  readonly plugin: PluginMeta
}

/** The node types and policies of a run's plugins, by kind. Create one with {@link createRegistry}. */
export interface Registry {
  readonly plugins: readonly Plugin[]
  /** Every kind, in registration order. */
  kinds(): readonly string[]
  get(kind: string): RegisteredNodeType | undefined
  policies(): readonly RegisteredPolicy[]
}

/**
 * Builds the registry of a run's plugins. Throws `PLUGIN_INVALID` for a plugin of another API version or without a
 * name, and `PLUGIN_DUPLICATE_KIND` when two plugins register the same kind.
 */
export function createRegistry(plugins: readonly Plugin[]): Registry {
  const nodeTypes = new Map<string, RegisteredNodeType>()
  const policies: RegisteredPolicy[] = []
  for (const plugin of plugins) {
    const name = typeof plugin?.meta?.name === 'string' ? plugin.meta.name : undefined
    if (name === undefined || name === '') {
      throw new CoreError('PLUGIN_INVALID', `Invalid plugin: expected meta.name to be a non-empty string, received ${JSON.stringify(plugin?.meta?.name)}`, {
        expected: 'a non-empty string',
        received: JSON.stringify(plugin?.meta?.name),
      })
    }
    if (plugin.apiVersion !== API_VERSION) {
      throw new CoreError('PLUGIN_INVALID', `Plugin ${name} uses apiVersion ${JSON.stringify(plugin.apiVersion)}: expected "${API_VERSION}"`, {
        plugin: name,
        expected: API_VERSION,
        received: String(plugin.apiVersion),
      })
    }
    for (const nodeType of plugin.nodeTypes ?? []) {
      const existing = nodeTypes.get(nodeType.kind)
      if (existing !== undefined) {
        throw new CoreError(
          'PLUGIN_DUPLICATE_KIND',
          `Node type "${nodeType.kind}" is registered twice: by ${existing.plugin.name} and by ${name}`,
          { kind: nodeType.kind, plugins: [existing.plugin.name, name] },
        )
      }
      nodeTypes.set(nodeType.kind, { nodeType, plugin: plugin.meta })
    }
    for (const policy of plugin.policies ?? []) policies.push({ policy, plugin: plugin.meta })
  }
  return {
    plugins: [...plugins],
    kinds: () => [...nodeTypes.keys()],
    get: (kind) => nodeTypes.get(kind),
    policies: () => [...policies],
  }
}
