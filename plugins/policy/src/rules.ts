import { definePolicy } from '@kiln/core'
import type { Plan, Policy, PolicyContext, Severity } from '@kiln/core'
import { NetMode, SecurityMode } from '@kiln/llb'
import type { NodeOp } from './ops.js'
import { planOps } from './ops.js'
import type { Exemptions, ResolvedPolicyOptions, RuleId } from './options.js'
import { RULE_IDS } from './options.js'

const DOCKER_IMAGE = 'docker-image://'

/**
 * What every graph finding carries in `data`, besides the message's own fields: the rule, the node and its type, and
 * the op (vertex name or source identifier, and digest) or target it is about.
 */
export interface GraphFindingData {
  readonly rule: RuleId
  readonly node: string
  readonly nodeType: string
  /** The vertex name: a source identifier (`docker-image://…`), an exec's argv, or a target id for deploy rules. */
  readonly op: string
  /** The op's digest, for LLB rules. */
  readonly digest?: string
  readonly [field: string]: unknown
}

type Check = (plan: Plan, report: (finding: Finding) => void) => void

interface Finding {
  readonly messageId: string
  readonly nodeId: string
  readonly targetId?: string
  readonly data: GraphFindingData
}

interface RuleDefinition {
  readonly description: string
  readonly messages: Readonly<Record<string, string>>
  check(options: ResolvedPolicyOptions['rules'][RuleId]): Check
}

function exempt(options: Exemptions, node: { readonly nodeId: string; readonly nodeType: string }): boolean {
  return options.allowNodes.includes(node.nodeId) || options.allowTypes.includes(node.nodeType)
}

function opData(rule: RuleId, op: NodeOp, extra: Record<string, unknown> = {}): Finding {
  return {
    messageId: '',
    nodeId: op.nodeId,
    ...(op.targetId === undefined ? {} : { targetId: op.targetId }),
    data: { rule, node: op.nodeId, nodeType: op.nodeType, op: op.name, digest: op.digest, ...extra },
  }
}

function imageRefOf(op: NodeOp): string | undefined {
  const identifier = op.op.source?.identifier
  return identifier?.startsWith(DOCKER_IMAGE) ? identifier.slice(DOCKER_IMAGE.length) : undefined
}

/** True when `ref` starts with `prefix` at a reference boundary: `127.0.0.1:5000` allows `127.0.0.1:5000/app`, not `127.0.0.1:50000/app`. */
export function matchesRegistry(ref: string, prefix: string): boolean {
  if (!ref.startsWith(prefix)) return false
  if (ref.length === prefix.length || /[/:@]$/.test(prefix)) return true
  return /[/:@]/.test(ref.charAt(prefix.length))
}

const RULES: Readonly<Record<RuleId, RuleDefinition>> = {
  'images.pinned': {
    description: 'Every image source is pinned by digest (`@sha256:`).',
    messages: { unpinned: 'Node {{node}} uses image {{image}} (op {{op}}), which is not pinned by digest: expected {{image}}@sha256:<digest>' },
    check: (options) => (plan, report) => {
      for (const op of planOps(plan).all()) {
        const image = imageRefOf(op)
        if (image === undefined || exempt(options, op) || /@sha256:[0-9a-f]{64}$/.test(image)) continue
        report({ ...opData('images.pinned', op, { image }), messageId: 'unpinned' })
      }
    },
  },
  'images.registries': {
    description: 'Every image source comes from an allowed registry (a prefix of the normalized reference).',
    messages: { registry: 'Node {{node}} uses image {{image}} (op {{op}}) from a registry that is not allowed: expected a reference starting with one of {{allowed}}' },
    check: (options) => (plan, report) => {
      const allow = 'allow' in options ? options.allow : []
      for (const op of planOps(plan).all()) {
        const image = imageRefOf(op)
        if (image === undefined || exempt(options, op) || allow.some((prefix) => matchesRegistry(image, prefix))) continue
        report({ ...opData('images.registries', op, { image, allowed: allow.join(', ') }), messageId: 'registry' })
      }
    },
  },
  'network.host': {
    description: 'No exec op uses the host network, outside the allowed nodes and node types.',
    messages: { host: 'Node {{node}} ({{nodeType}}) runs "{{op}}" with the host network: expected network none or sandbox, or the node listed in allowNodes/allowTypes' },
    check: (options) => (plan, report) => {
      for (const op of planOps(plan).all()) {
        if (op.op.exec?.network === NetMode.HOST && !exempt(options, op)) report({ ...opData('network.host', op), messageId: 'host' })
      }
    },
  },
  'security.insecure': {
    description: 'No exec op runs in insecure (privileged) security mode, outside the allowed nodes and node types.',
    messages: { insecure: 'Node {{node}} ({{nodeType}}) runs "{{op}}" in insecure (privileged) security mode: expected the sandbox, or the node listed in allowNodes/allowTypes' },
    check: (options) => (plan, report) => {
      for (const op of planOps(plan).all()) {
        if (op.op.exec?.security === SecurityMode.INSECURE && !exempt(options, op)) report({ ...opData('security.insecure', op), messageId: 'insecure' })
      }
    },
  },
  'secrets.mountsOnly': {
    description: 'Secrets reach processes only as file mounts, never as environment variables.',
    messages: { env: 'Node {{node}} ({{nodeType}}) exposes secret {{secret}} as environment variable {{env}} in "{{op}}": expected a secret mount (a file under /run/secrets)' },
    check: (options) => (plan, report) => {
      for (const op of planOps(plan).all()) {
        if (exempt(options, op)) continue
        for (const secret of op.op.exec?.secretenv ?? []) report({ ...opData('secrets.mountsOnly', op, { secret: secret.ID ?? '', env: secret.name ?? '' }), messageId: 'env' })
      }
    },
  },
  'deploy.requiresChecks': {
    description: 'A publish node depends, directly or transitively, on every check node of each artifact it publishes.',
    messages: {
      missingCheck: 'Publish node {{node}} ({{op}}) publishes {{artifact}} without depending on its check {{check}}: expected {{check}} in its after list or upstream',
      unchecked: 'Publish node {{node}} ({{op}}) publishes {{artifact}}, which no check node checks: expected a check (e.g. policy.image) on {{artifact}} that {{node}} runs after',
    },
    check: (options) => (plan, report) => {
      const requireCheck = 'requireCheck' in options ? options.requireCheck : false
      const graph = plan.compiled.graph
      for (const node of plan.nodes) {
        if (node.phase !== 'publish' || exempt(options, { nodeId: node.id, nodeType: node.type })) continue
        const upstream = new Set(graph.upstream(node.id))
        const op = node.targets[0] ?? node.id
        const artifacts = new Set<string>()
        for (const edge of graph.edges) {
          if (edge.to !== node.id || edge.type !== 'reference') continue
          const producer = graph.node(edge.from)
          const kind = producer?.outputs[edge.output ?? 'default']
          if (producer === undefined || producer.phase === 'publish' || (kind !== 'image' && kind !== 'filesystem')) continue
          artifacts.add(edge.from)
        }
        for (const artifact of artifacts) {
          // Checks of the artifact: check nodes fed by it, unless they run after this publish (a smoke test of the deploy).
          const checks = graph.nodes.filter((other) => other.phase === 'check' && graph.upstream(other.id).includes(artifact) && !graph.upstream(other.id).includes(node.id))
          const data = { rule: 'deploy.requiresChecks' as const, node: node.id, nodeType: node.type, op, artifact }
          const where = { nodeId: node.id, ...(node.targets[0] === undefined ? {} : { targetId: node.targets[0] }) }
          if (checks.length === 0) {
            if (requireCheck) report({ ...where, messageId: 'unchecked', data })
            continue
          }
          for (const check of checks) if (!upstream.has(check.id)) report({ ...where, messageId: 'missingCheck', data: { ...data, check: check.id } })
        }
      }
    },
  },
}

/** Every rule's description and messages, for docs and `kiln plan`. */
export function describeRules(): Readonly<Record<RuleId, { readonly description: string; readonly messages: Readonly<Record<string, string>> }>> {
  return Object.fromEntries(RULE_IDS.map((id) => [id, { description: RULES[id].description, messages: RULES[id].messages }])) as Record<RuleId, { description: string; messages: Record<string, string> }>
}

/**
 * The graph policies for resolved options: one core {@link Policy} per rule that is not `off`, named by its rule id
 * (so `evaluatePolicies`' severity overrides and `kiln plan` use the same ids), with the configured severity.
 */
export function createGraphPolicies(options: ResolvedPolicyOptions): Policy[] {
  const policies: Policy[] = []
  for (const id of RULE_IDS) {
    const rule = options.rules[id]
    if (rule.severity === 'off') continue
    const check = RULES[id].check(rule)
    policies.push(
      definePolicy({
        name: id,
        description: RULES[id].description,
        severity: rule.severity as Severity,
        meta: { messages: RULES[id].messages },
        check(plan: Plan, ctx: PolicyContext) {
          check(plan, (finding) => ctx.report({ messageId: finding.messageId, data: finding.data, nodeId: finding.nodeId, ...(finding.targetId === undefined ? {} : { targetId: finding.targetId }) }))
        },
      }),
    )
  }
  return policies
}
