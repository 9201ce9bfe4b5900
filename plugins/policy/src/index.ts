/**
 * `@kiln/plugin-policy`: checks that gate a Kiln run.
 *
 * - Graph rules (`images.pinned`, `images.registries`, `network.host`, `security.insecure`, `secrets.mountsOnly`,
 *   `deploy.requiresChecks`), checked by core's `evaluatePolicies` on the compiled plan before anything runs; their
 *   findings name the rule, the node, its type and the op.
 * - Content checks as nodes of phase `check` (`policy.image`, `policy.files`), which read the solved result through
 *   the engine and fail the run with a report.
 *
 * Written as a third-party plugin: it depends on `@kiln/core` and `@kiln/llb` only.
 *
 * @packageDocumentation
 */
import { API_VERSION, definePlugin } from '@kiln/core'
import type { Plugin } from '@kiln/core'
import { filesCheck } from './files-check.js'
import { imageCheck } from './image-check.js'
import type { PolicyPluginOptions } from './options.js'
import { resolvePolicyOptions } from './options.js'
import { createGraphPolicies } from './rules.js'

export { DEFAULT_SEVERITIES, RULE_IDS, formatOptionPath, resolvePolicyOptions } from './options.js'
export type { Exemptions, PolicyPluginOptions, ResolvedPolicyOptions, ResolvedRules, RuleId, RuleSeverity } from './options.js'
export { createGraphPolicies, describeRules, matchesRegistry } from './rules.js'
export type { GraphFindingData } from './rules.js'
export { definitionOf, planOps } from './ops.js'
export type { NodeOp, PlanOps } from './ops.js'
export { imageCheck, inspectImage, policyImage } from './image-check.js'
export type { ImageCheckConfig, ImageRules } from './image-check.js'
export { filesCheck, inspectFiles, policyFiles } from './files-check.js'
export type { FilesCheckConfig, FilesRules } from './files-check.js'
export { createGlobSet, globToRegExp } from './glob.js'
export type { GlobSet } from './glob.js'
export { SECRET_SHAPES, scanForSecrets } from './secrets.js'
export type { SecretMatch, SecretShape } from './secrets.js'

/** The package's name and version, as the plugin's meta. */
export const PLUGIN_META = { name: '@kiln/plugin-policy', version: '0.1.0' } as const

/**
 * The plugin: the `policy.image` and `policy.files` node types, and one graph policy per rule that is not `off`.
 * Throws `CONFIG_INVALID` for invalid options (the CLI reports it against the plugin's entry in the config).
 *
 * @example
 * ```ts
 * // kiln.ts
 * export default defineConfig({
 *   plugins: [policyPlugin({ rules: { 'images.pinned': 'deny', 'network.host': { allowTypes: ['deploy.run'] } } })],
 *   nodes: { ... },
 * })
 * ```
 */
export default function policyPlugin(options: PolicyPluginOptions = {}): Plugin {
  const resolved = resolvePolicyOptions(options)
  return definePlugin({
    meta: PLUGIN_META,
    apiVersion: API_VERSION,
    nodeTypes: [imageCheck, filesCheck],
    policies: createGraphPolicies(resolved),
  })
}
