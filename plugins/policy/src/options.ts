import { CoreError, z } from '@kiln/core'
import type { Severity } from '@kiln/core'

/** The ids of the graph rules, in the order they run. */
export const RULE_IDS = ['images.pinned', 'images.registries', 'network.host', 'security.insecure', 'secrets.mountsOnly', 'deploy.requiresChecks'] as const

/** A graph rule id. */
export type RuleId = (typeof RULE_IDS)[number]

/** A rule's severity in the options: `off` disables it. */
export type RuleSeverity = Severity | 'off'

/** Nodes a rule does not apply to, by id or by node type (kind). */
export interface Exemptions {
  /** Node ids the rule does not apply to. */
  readonly allowNodes: readonly string[]
  /** Node types (`run`, `deploy.run`) the rule does not apply to. */
  readonly allowTypes: readonly string[]
}

/** The resolved options of every rule: what {@link resolvePolicyOptions} returns. */
export interface ResolvedRules {
  readonly 'images.pinned': { readonly severity: RuleSeverity } & Exemptions
  readonly 'images.registries': { readonly severity: RuleSeverity; readonly allow: readonly string[] } & Exemptions
  readonly 'network.host': { readonly severity: RuleSeverity } & Exemptions
  readonly 'security.insecure': { readonly severity: RuleSeverity } & Exemptions
  readonly 'secrets.mountsOnly': { readonly severity: RuleSeverity } & Exemptions
  readonly 'deploy.requiresChecks': { readonly severity: RuleSeverity; readonly requireCheck: boolean } & Exemptions
}

/** Resolved plugin options. */
export interface ResolvedPolicyOptions {
  readonly rules: ResolvedRules
}

/** The severity each rule has when the options do not set one. */
export const DEFAULT_SEVERITIES: Readonly<Record<RuleId, RuleSeverity>> = {
  'images.pinned': 'warn',
  'images.registries': 'deny',
  'network.host': 'deny',
  'security.insecure': 'deny',
  'secrets.mountsOnly': 'deny',
  'deploy.requiresChecks': 'deny',
}

const severity = z.enum(['warn', 'deny', 'off'])
const ids = z.array(z.string().min(1))
const exemptions = { severity: severity.optional(), allowNodes: ids.optional(), allowTypes: ids.optional() }
const ruleSchemas = {
  'images.pinned': z.strictObject(exemptions),
  'images.registries': z.strictObject({ ...exemptions, allow: z.array(z.string().min(1)).min(1).optional() }),
  'network.host': z.strictObject(exemptions),
  'security.insecure': z.strictObject(exemptions),
  'secrets.mountsOnly': z.strictObject(exemptions),
  'deploy.requiresChecks': z.strictObject({ ...exemptions, requireCheck: z.boolean().optional() }),
} satisfies Record<RuleId, z.ZodType>

type RuleInput = { severity?: RuleSeverity; allowNodes?: string[]; allowTypes?: string[]; allow?: string[]; requireCheck?: boolean }

/**
 * The plugin's options, as written in `plugins: [{ name: '@kiln/plugin-policy', options }]` or passed to
 * `policyPlugin(options)` in kiln.ts. Each rule takes a severity alone (`images.pinned: deny`) or an object with a
 * severity and the rule's options.
 */
export interface PolicyPluginOptions {
  readonly rules?: { readonly [R in RuleId]?: RuleSeverity | z.input<(typeof ruleSchemas)[R]> }
}

/**
 * Validates and resolves the plugin's options. Throws `CONFIG_INVALID` naming the option's path, what was expected and
 * what was received: an unknown rule id, an unknown option, a wrong type, or `images.registries` enabled without
 * `allow`.
 */
export function resolvePolicyOptions(options: unknown = {}): ResolvedPolicyOptions {
  const root = options ?? {}
  if (!isPlainObject(root)) fail(['options'], 'an object with "rules"', describe(root))
  for (const key of Object.keys(root)) if (key !== 'rules') fail(['options', key], 'only "rules"', `"${key}"`)
  const rules = root.rules ?? {}
  if (!isPlainObject(rules)) fail(['options', 'rules'], 'an object of rule ids', describe(rules))
  for (const key of Object.keys(rules)) {
    if (!(RULE_IDS as readonly string[]).includes(key)) fail(['options', 'rules', key], `a rule id (one of ${RULE_IDS.join(', ')})`, `"${key}"`)
  }
  const resolved: Record<string, unknown> = {}
  for (const id of RULE_IDS) {
    const raw: unknown = rules[id]
    let input: RuleInput = {}
    if (typeof raw === 'string') {
      const parsed = severity.safeParse(raw)
      if (!parsed.success) fail(['options', 'rules', id], 'warn, deny or off (or an object with severity)', `"${raw}"`)
      input = { severity: parsed.data }
    } else if (raw !== undefined) {
      const parsed = ruleSchemas[id].safeParse(raw)
      if (!parsed.success) {
        const issue = parsed.error.issues[0] as z.core.$ZodIssue
        fail(['options', 'rules', id, ...issue.path.map((item) => (typeof item === 'symbol' ? String(item) : item))], expectedOf(issue), receivedAt(raw, issue))
      }
      input = parsed.data as RuleInput
    }
    const ruleSeverity = input.severity ?? (id === 'images.registries' && input.allow === undefined ? 'off' : DEFAULT_SEVERITIES[id])
    if (id === 'images.registries' && ruleSeverity !== 'off' && input.allow === undefined) {
      fail(['options', 'rules', id, 'allow'], 'a list of allowed registry prefixes (e.g. ["127.0.0.1:5000/"]) when the rule is on', 'nothing')
    }
    resolved[id] = {
      severity: ruleSeverity,
      allowNodes: input.allowNodes ?? [],
      allowTypes: input.allowTypes ?? [],
      ...(id === 'images.registries' ? { allow: input.allow ?? [] } : {}),
      ...(id === 'deploy.requiresChecks' ? { requireCheck: input.requireCheck ?? false } : {}),
    }
  }
  return { rules: resolved as unknown as ResolvedRules }
}

function fail(path: readonly (string | number)[], expected: string, received: string): never {
  const where = formatOptionPath(path)
  throw new CoreError('CONFIG_INVALID', `Invalid @kiln/plugin-policy option ${where}: expected ${expected}, received ${received}`, { path, expected, received })
}

/** `options.rules["images.pinned"].allowNodes[0]`. */
export function formatOptionPath(path: readonly (string | number)[]): string {
  return path
    .map((item, index) => (typeof item === 'number' ? `[${item}]` : /^[A-Za-z_$][\w$]*$/.test(item) ? `${index === 0 ? '' : '.'}${item}` : `[${JSON.stringify(item)}]`))
    .join('')
}

function expectedOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `no option ${issue.keys.map((key) => `"${key}"`).join(', ')} (known: severity, allowNodes, allowTypes and the rule's own options)`
    case 'invalid_type':
      return issue.expected
    case 'invalid_value':
      return `one of ${issue.values.map(String).join(', ')}`
    case 'too_small':
      return issue.origin === 'array' ? `at least ${String(issue.minimum)} item${issue.minimum === 1 ? '' : 's'}` : 'a non-empty string'
    default:
      return issue.message
  }
}

function receivedAt(root: unknown, issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `"${key}"`).join(', ')
  let value: unknown = root
  for (const key of issue.path) value = isPlainObject(value) || Array.isArray(value) ? (value as Record<PropertyKey, unknown>)[key] : undefined
  return describe(value)
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array'
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
