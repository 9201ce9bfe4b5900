import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { buildGraph, compileGraph, createPlan, createRegistry, defineNodeType, definePlugin, ref } from './index.js'
import type { PipelineConfig } from './index.js'
import { testPlugin } from './__fixtures__/plugin.js'
import { fakeState } from './testing/index.js'

const exporter = defineNodeType({
  kind: 'export',
  schema: z.strictObject({ from: ref('filesystem'), dest: z.string() }),
  outputs: {},
  compile(node, ctx) {
    ctx.target({ kind: 'export', state: ctx.input(node.config.from).state, exporter: { type: 'local', dest: node.config.dest } })
    return {}
  },
})
const deploy = defineNodeType({
  kind: 'deploy.run',
  schema: z.strictObject({ script: z.string(), cache: z.boolean().default(false) }),
  outputs: { default: 'value' },
  phase: 'publish',
  compile(node, ctx) {
    ctx.target({ kind: 'build', state: fakeState(`deploy:${node.config.script}`), cache: node.config.cache })
    return { default: { kind: 'value', known: false, node: node.id, output: 'default' } }
  },
})
const registry = createRegistry([testPlugin, definePlugin({ meta: { name: 'extra', version: '1' }, apiVersion: 'v1', nodeTypes: [exporter, deploy] })])

const pipeline: PipelineConfig = {
  nodes: {
    src: { type: 'local', path: '.' },
    build: { type: 'run', script: 'make', mounts: { '/src': 'src' }, outputs: { bin: '/out' } },
    test: { type: 'run', script: 'make test', mounts: { '/src': 'src', '/out': 'build.bin' } },
    base: { type: 'image', ref: 'debian' },
    scan: { type: 'check', image: 'base' },
    push: { type: 'deploy.push', image: 'base', to: 'r/app' },
    dist: { type: 'export', from: 'build.bin', dest: './dist' },
    deploy: { type: 'deploy.run', script: 'kubectl apply', after: ['push'] },
    unrelated: { type: 'local', path: 'docs' },
  },
}

async function plan(options: { nodes?: string[] } = {}) {
  const graph = buildGraph(pipeline, registry)
  return createPlan(await compileGraph(graph, { registry }), options)
}

describe('createPlan', () => {
  it('gives nodes without targets one build target per filesystem or image output', async () => {
    const result = await plan()
    expect(result.node('build')?.targets).toEqual(['build#build', 'build#build-bin'])
    expect(result.target('build#build-bin')).toMatchObject({ nodeId: 'build', kind: 'build', phase: 'build', cache: true, secrets: [], values: {} })
    expect(result.node('dist')?.targets).toEqual(['dist#export'])
    expect(result.target('dist#export')).toMatchObject({ kind: 'export', exporter: { type: 'local', dest: './dist' }, dependsOn: ['build#build', 'build#build-bin'] })
  })

  it('orders targets by node order and makes targets depend on their node dependencies', async () => {
    const result = await plan()
    expect(result.targets.map((target) => target.id)).toEqual([
      'src#build',
      'build#build',
      'build#build-bin',
      'test#build',
      'base#build',
      'scan#check',
      'push#publish',
      'dist#export',
      'deploy#build',
      'unrelated#build',
    ])
    expect(result.target('test#build')?.dependsOn).toEqual(['src#build', 'build#build', 'build#build-bin'])
    expect(result.target('scan#check')).toMatchObject({ phase: 'check', dependsOn: ['base#build'] })
  })

  it('makes every publish target wait for every build and check target, and not cache it', async () => {
    const result = await plan()
    const gate = result.targets.filter((target) => target.phase !== 'publish').map((target) => target.id)
    expect(gate).toEqual(['src#build', 'build#build', 'build#build-bin', 'test#build', 'base#build', 'scan#check', 'dist#export', 'unrelated#build'])
    const push = result.target('push#publish')
    expect(push).toMatchObject({ phase: 'publish', cache: false, values: { digest: { from: 'exporter', key: 'containerimage.digest' } } })
    expect([...(push?.dependsOn ?? [])].sort()).toEqual([...gate].sort())
    // A publish node's own targets are publish targets, whatever their kind, and still wait for the push.
    const deployTarget = result.target('deploy#build')
    expect(deployTarget).toMatchObject({ kind: 'build', phase: 'publish', cache: false })
    expect(deployTarget?.dependsOn).toContain('push#publish')
    for (const id of gate) expect(deployTarget?.dependsOn).toContain(id)
  })

  it('plans a selection: the nodes asked for and their dependencies, gating publish on those checks only', async () => {
    const result = await plan({ nodes: ['push', 'scan'] })
    expect(result.nodes.map((node) => node.id)).toEqual(['base', 'scan', 'push'])
    expect(result.target('push#publish')?.dependsOn).toEqual(['base#build', 'scan#check'])
    expect(result.edges.map((edge) => `${edge.from}->${edge.to}`)).toEqual(['base->scan', 'base->push'])
  })

  it('exposes phases, outputs and dependencies per node for policies and kiln plan', async () => {
    const result = await plan()
    expect(result.nodes.map((node) => `${node.id}:${node.phase}`)).toEqual(['src:build', 'build:build', 'test:build', 'base:build', 'scan:check', 'push:publish', 'dist:build', 'deploy:publish', 'unrelated:build'])
    expect(result.node('deploy')?.dependencies).toEqual(['push'])
    expect(result.upstream('deploy')).toEqual(['base', 'push'])
    expect(result.node('scan')?.findings).toHaveLength(1)
  })

  it('rejects an unknown node in the selection', async () => {
    await expect(plan({ nodes: ['nope'] })).rejects.toThrow('Unknown node "nope" in the plan: expected one of src, build, test, base, scan, push, dist, deploy, unrelated')
  })
})
