import { describe, expect, it } from 'vitest'
import { assertAllowed, buildGraph, compileGraph, createPlan, createRegistry, definePlugin, definePolicy, evaluatePolicies, isCoreError, PluginError } from './index.js'
import type { Plugin } from './index.js'
import { testPlugin } from './__fixtures__/plugin.js'

const publishNeedsCheck = definePolicy({
  name: 'policy.publish-after-check',
  meta: { messages: { unchecked: 'Publish node {{node}} does not depend on a check of what it publishes.' } },
  check(plan, ctx) {
    for (const node of plan.nodes) {
      if (node.phase !== 'publish') continue
      const checked = plan.nodes.some((other) => other.phase === 'check' && plan.upstream(other.id).some((id) => plan.upstream(node.id).includes(id)) && plan.upstream(node.id).includes(other.id))
      if (!checked) ctx.report({ messageId: 'unchecked', data: { node: node.id }, nodeId: node.id })
    }
  },
})
const pinned = definePolicy({
  name: 'policy.pinned',
  severity: 'warn',
  meta: { messages: { unpinned: 'Image {{ref}} is not pinned by digest.' } },
  check(plan, ctx) {
    for (const node of plan.nodes) {
      if (node.type === 'image') ctx.report({ messageId: 'unpinned', data: { ref: (plan.compiled.graph.node(node.id)?.config as { ref: string }).ref }, nodeId: node.id })
    }
  },
})

function registryWith(...policies: Plugin['policies'][]) {
  return createRegistry([testPlugin, definePlugin({ meta: { name: 'kiln-plugin-policy', version: '1' }, apiVersion: 'v1', policies: policies.flatMap((list) => list ?? []) })])
}

async function planFor(registry: ReturnType<typeof registryWith>, withCheck: boolean) {
  const nodes = {
    base: { type: 'image', ref: 'debian' },
    ...(withCheck ? { scan: { type: 'check', image: 'base' } } : {}),
    push: { type: 'deploy.push', image: 'base', to: 'r/app', ...(withCheck ? { after: ['scan'] } : {}) },
  }
  return createPlan(await compileGraph(buildGraph({ nodes }, registry), { registry }))
}

describe('evaluatePolicies', () => {
  it('denies a plan that breaks a deny rule, and assertAllowed blocks the run', async () => {
    const registry = registryWith([publishNeedsCheck, pinned])
    const report = await evaluatePolicies(await planFor(registry, false), { registry })
    expect(report.denied).toBe(true)
    expect(report.findings).toEqual([
      { rule: 'policy.publish-after-check', severity: 'deny', message: 'Publish node push does not depend on a check of what it publishes.', messageId: 'unchecked', nodeId: 'push', data: { node: 'push' } },
      { rule: 'policy.pinned', severity: 'warn', message: 'Image debian is not pinned by digest.', messageId: 'unpinned', nodeId: 'base', data: { ref: 'debian' } },
    ])
    let ran = false
    const run = () => {
      assertAllowed(report)
      ran = true
    }
    expect(run).toThrow('Policy denied the run (1 finding): expected no deny findings\n  - [policy.publish-after-check] push: Publish node push does not depend on a check of what it publishes.')
    expect(ran).toBe(false)
    try {
      assertAllowed(report)
    } catch (error) {
      expect(isCoreError(error, 'POLICY_DENIED')).toBe(true)
      expect((error as { details: { findings: unknown[] } }).details.findings).toHaveLength(1)
    }
  })

  it('allows a plan with warnings only, including compile findings', async () => {
    const registry = registryWith([publishNeedsCheck, pinned])
    const report = await evaluatePolicies(await planFor(registry, true), { registry })
    expect(report.denied).toBe(false)
    expect(report.findings.map((finding) => `${finding.severity} ${finding.rule} ${finding.nodeId}`)).toEqual(['warn check/root scan', 'warn policy.pinned base'])
    expect(() => assertAllowed(report)).not.toThrow()
  })

  it('applies severity overrides, including off', async () => {
    const registry = registryWith([publishNeedsCheck, pinned])
    const plan = await planFor(registry, false)
    const report = await evaluatePolicies(plan, { registry, severities: { 'policy.publish-after-check': 'warn', 'policy.pinned': 'deny', 'check/root': 'off' } })
    expect(report.findings.map((finding) => `${finding.severity} ${finding.rule}`)).toEqual(['warn policy.publish-after-check', 'deny policy.pinned'])
    expect(report.denied).toBe(true)
  })

  it('wraps a policy that throws, and rejects unknown message ids', async () => {
    const broken = definePolicy({ name: 'policy.broken', check: () => { throw new Error('bad rule') } })
    const registry = registryWith([broken])
    const error = await evaluatePolicies(await planFor(registry, true), { registry }).catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(PluginError)
    expect((error as PluginError).message).toBe('Plugin kiln-plugin-policy failed in policy: policy policy.broken: bad rule')

    const typo = definePolicy({ name: 'policy.typo', meta: { messages: { a: 'A' } }, check: (_plan, ctx) => ctx.report({ messageId: 'b' }) })
    const typoRegistry = registryWith([typo])
    const typoError = await evaluatePolicies(await planFor(typoRegistry, true), { registry: typoRegistry }).catch((thrown: unknown) => thrown)
    expect((typoError as PluginError).message).toBe('Plugin kiln-plugin-policy failed in policy: policy policy.typo: Unknown messageId "b": expected a')
  })
})
