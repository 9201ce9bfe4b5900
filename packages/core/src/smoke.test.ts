import { describe, expect, it } from 'vitest'
import { buildGraph, compileGraph, createPlan, createRegistry } from './index.js'
import { testPlugin } from './__fixtures__/plugin.js'

describe('smoke', () => {
  it('builds, compiles and plans', async () => {
    const registry = createRegistry([testPlugin])
    const graph = buildGraph(
      {
        secrets: { registry: { env: 'TOKEN' } },
        nodes: {
          src: { type: 'local', path: '.' },
          build: { type: 'run', mounts: { '/src': 'src' }, script: 'make', outputs: { bin: '/out' } },
          base: { type: 'image', ref: 'debian:bookworm' },
          checks: { type: 'check', image: 'base' },
          push: { type: 'deploy.push', image: 'base', to: 'r/app', auth: 'registry' },
        },
      },
      registry,
    )
    expect(graph.order).toEqual(['src', 'build', 'base', 'checks', 'push'])
    const compiled = await compileGraph(graph, { registry })
    const plan = createPlan(compiled)
    expect(plan.target('push#publish')?.dependsOn).toEqual(['base#build', 'src#build', 'build#build', 'build#build-bin', 'checks#check'])
  })
})
