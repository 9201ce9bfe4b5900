import { buildGraph, compileGraph, createPlan, createRegistry, defineNodeType, definePlugin, evaluatePolicies, imageArtifact, ref, secretRef, z } from '@kiln/core'
import type { Artifact, NodeEntry, Plan, PolicyReport } from '@kiln/core'
import { image as llbImage, local as llbLocal } from '@kiln/llb'
import type { MountSpec, SecretEnv, State } from '@kiln/llb'
import policyPlugin from '../index.js'
import type { PolicyPluginOptions } from '../index.js'

/**
 * A tiny std-like plugin whose node types compile to real llb States, so the policies see marshalled LLB exactly as
 * they would in a run.
 */
const image = defineNodeType({
  kind: 'image',
  schema: z.strictObject({ ref: z.string(), user: z.string().optional() }),
  outputs: { default: 'image' },
  compile(node) {
    return { default: imageArtifact(llbImage(node.config.ref), node.config.user === undefined ? {} : { user: node.config.user }, { ref: node.config.ref }) }
  },
})

const local = defineNodeType({
  kind: 'local',
  schema: z.strictObject({ path: z.string() }),
  outputs: { default: 'filesystem' },
  compile(node) {
    return { default: { kind: 'filesystem', state: llbLocal(node.config.path) } }
  },
})

const runSchema = z.strictObject({
  from: z.union([ref('image'), z.string().regex(/[:@]/)]),
  script: z.string(),
  mounts: z.record(z.string(), ref('filesystem')).default({}),
  network: z.enum(['sandbox', 'none', 'host']).default('none'),
  security: z.enum(['sandbox', 'insecure']).default('sandbox'),
  secretEnv: z.record(z.string(), secretRef()).default({}),
  secretMounts: z.record(z.string(), secretRef()).default({}),
})

function compileRun(node: { config: z.output<typeof runSchema> }, ctx: Parameters<(typeof image)['compile']>[1]): State {
  const base = typeof node.config.from === 'string' ? llbImage(node.config.from) : (ctx.input(node.config.from).state as State)
  const mounts: MountSpec[] = Object.entries(node.config.mounts).map(([dest, reference]) => ({ type: 'bind', dest, from: ctx.input(reference).state as State }))
  for (const [dest, secret] of Object.entries(node.config.secretMounts)) mounts.push({ type: 'secret', id: ctx.secret(secret).name, dest })
  const secretEnv: SecretEnv[] = Object.entries(node.config.secretEnv).map(([name, secret]) => ({ id: ctx.secret(secret).name, name }))
  return base.run({ shell: node.config.script, network: node.config.network, security: node.config.security, mounts, secretEnv }).root()
}

const run = defineNodeType({
  kind: 'run',
  schema: runSchema,
  outputs: { default: 'filesystem' },
  compile(node, ctx) {
    return { default: { kind: 'filesystem', state: compileRun(node, ctx) } }
  },
})

/** A publish-phase command (like deploy.run): its exec op runs as a publish target. */
const deployRun = defineNodeType({
  kind: 'deploy.run',
  schema: runSchema,
  outputs: {},
  phase: 'publish',
  compile(node, ctx) {
    ctx.target({ kind: 'publish', state: compileRun(node, ctx) })
    return {}
  },
})

const check = defineNodeType({
  kind: 'check',
  schema: z.strictObject({ image: ref('image') }),
  outputs: {},
  phase: 'check',
  compile(node, ctx) {
    ctx.target({ kind: 'check', state: ctx.input(node.config.image).state })
    return {}
  },
})

const push = defineNodeType({
  kind: 'deploy.push',
  schema: z.strictObject({ image: ref('image'), to: z.string() }),
  outputs: { digest: 'value' },
  phase: 'publish',
  compile(node, ctx) {
    ctx.target({ kind: 'publish', state: ctx.input(node.config.image).state, exporter: { type: 'image', name: node.config.to, push: true } })
    return { digest: { kind: 'value', known: false, node: node.id, output: 'digest' } } satisfies Record<string, Artifact>
  },
})

export const fixturePlugin = definePlugin({ meta: { name: 'fixture', version: '0.0.0' }, apiVersion: 'v1', nodeTypes: [image, local, run, deployRun, check, push] })

/** A sha256 digest for pinned references. */
export const DIGEST = `sha256:${'a'.repeat(64)}`

/** Compiles, plans and evaluates a pipeline with the policy plugin configured by `options`. */
export async function evaluate(
  nodes: Readonly<Record<string, NodeEntry>>,
  options: PolicyPluginOptions = {},
  extra: { secrets?: readonly string[]; select?: readonly string[]; severities?: Record<string, 'warn' | 'deny' | 'off'> } = {},
): Promise<{ plan: Plan; report: PolicyReport }> {
  const registry = createRegistry([fixturePlugin, policyPlugin(options)])
  const secrets = Object.fromEntries((extra.secrets ?? []).map((name) => [name, {}]))
  const graph = buildGraph({ nodes, secrets }, registry)
  const compiled = await compileGraph(graph, { registry, ...(extra.select === undefined ? {} : { nodes: extra.select }) })
  const plan = createPlan(compiled, extra.select === undefined ? {} : { nodes: extra.select })
  const report = await evaluatePolicies(plan, { registry, ...(extra.severities === undefined ? {} : { severities: extra.severities }) })
  return { plan, report }
}

/** Every rule off except the named ones (with the given settings). */
export function only(rules: PolicyPluginOptions['rules']): PolicyPluginOptions {
  return {
    rules: {
      'images.pinned': 'off',
      'network.host': 'off',
      'security.insecure': 'off',
      'secrets.mountsOnly': 'off',
      'deploy.requiresChecks': 'off',
      ...rules,
    },
  }
}
