import type { Finding } from './compile.js'
import { findingFrom } from './compile.js'
import { CoreError, PluginError } from './errors.js'
import type { Severity } from './node-type.js'
import type { Plan } from './plan.js'
import type { Registry } from './plugin.js'

/** Findings of every policy and of compile, and whether the run may go ahead. */
export interface PolicyReport {
  /** Compile findings first (in node order), then policy findings (in policy order). */
  readonly findings: readonly Finding[]
  /** True when any finding is `deny`: the run must not start. */
  readonly denied: boolean
}

/** Options of {@link evaluatePolicies}. */
export interface PolicyOptions {
  readonly registry: Registry
  /** Per-rule severity overrides from the config: `off` silences a rule. */
  readonly severities?: Readonly<Record<string, Severity | 'off'>>
}

/**
 * Runs every registered policy over the whole plan, before anything runs, and gathers their findings with the
 * findings node types reported while compiling. A policy that throws becomes a `PluginError` (hook `policy`).
 *
 * @example
 * ```ts
 * const report = await evaluatePolicies(plan, { registry })
 * assertAllowed(report) // throws POLICY_DENIED listing the deny findings; nothing has run
 * ```
 */
export async function evaluatePolicies(plan: Plan, options: PolicyOptions): Promise<PolicyReport> {
  const severities = options.severities ?? {}
  const findings: Finding[] = []
  const add = (finding: Finding): void => {
    const override = severities[finding.rule]
    if (override === 'off') return
    findings.push(override === undefined ? finding : { ...finding, severity: override })
  }
  for (const node of plan.nodes) for (const finding of node.findings) add(finding)
  for (const { policy, plugin } of options.registry.policies()) {
    const severity = policy.severity ?? 'deny'
    try {
      await policy.check(plan, {
        report: (descriptor) => add(findingFrom(descriptor, policy.meta?.messages ?? {}, severity, { rulePrefix: policy.name, rule: policy.name })),
      })
    } catch (error) {
      throw new PluginError({ plugin: plugin.name, hook: 'policy', cause: error, message: `policy ${policy.name}: ${error instanceof Error ? error.message : String(error)}` })
    }
  }
  return { findings, denied: findings.some((finding) => finding.severity === 'deny') }
}

/**
 * Throws `POLICY_DENIED` when the report denies the run; the message lists each deny finding with its rule and node.
 */
export function assertAllowed(report: PolicyReport): void {
  if (!report.denied) return
  const denied = report.findings.filter((finding) => finding.severity === 'deny')
  const lines = denied.map((finding) => `  - [${finding.rule}]${finding.nodeId === undefined ? '' : ` ${finding.nodeId}:`} ${finding.message}`)
  throw new CoreError('POLICY_DENIED', `Policy denied the run (${denied.length} finding${denied.length === 1 ? '' : 's'}): expected no deny findings\n${lines.join('\n')}`, {
    expected: 'no deny findings',
    received: `${denied.length} deny finding${denied.length === 1 ? '' : 's'}`,
    findings: denied,
  })
}
