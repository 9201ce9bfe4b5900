import { buildGraph, compileGraph, createPlan, createRegistry, pipelineJsonSchema, resolveConfig } from '@kiln/core'
import { createFakeEngine } from '@kiln/core/testing'
import { describe, expect, it } from 'vitest'
import stdPluginDefault, { copy, defineConfig, exportTo, local, run, stdPlugin } from './index.js'
import { marshal, resultOp } from './__fixtures__/llb.js'
import { definitionRequirements } from './runtime.js'

const design = {
  secrets: { npm: { env: 'NPM_TOKEN' } },
  nodes: {
    src: { type: 'local', path: '.', exclude: ['**/*.log', 'node_modules'] },
    build: { type: 'run', from: 'debian:bookworm', mounts: { '/src': 'src' }, workdir: '/src', script: 'make build', caches: { '/root/.cache': 'build-cache' }, outputs: { bin: '/src/out' } },
    test: { type: 'run', from: 'debian:bookworm', mounts: { '/src': 'src', '/src/out': 'build.bin' }, workdir: '/src', script: 'make test', secrets: { npm: null }, phase: 'check' },
    pkg: { type: 'copy', from: 'build.bin', src: '/', dest: '/usr/local/bin/' },
    dist: { type: 'export', from: 'pkg', to: { local: 'dist' } },
  },
}

describe('stdPlugin', () => {
  it('is the default export and registers every std kind', () => {
    const plugin = stdPlugin()
    expect(stdPluginDefault).toBe(stdPlugin)
    expect(plugin.meta).toEqual({ name: '@kiln/plugin-std', version: '0.1.0' })
    expect(plugin.apiVersion).toBe('v1')
    expect(createRegistry([plugin]).kinds()).toEqual(['image', 'local', 'git', 'http', 'run', 'copy', 'merge', 'export'])
  })

  it('gives editors a JSON Schema with descriptions and references', () => {
    const schema = pipelineJsonSchema(createRegistry([stdPlugin()])) as { properties: { nodes: { additionalProperties: { allOf: { if: unknown; then: { properties: Record<string, { description?: string; anyOf?: unknown[] }> } }[] } } } }
    const branches = schema.properties.nodes.additionalProperties.allOf
    const run = branches.find((branch) => JSON.stringify(branch.if).includes('"run"'))?.then
    expect(run?.properties.network?.description).toContain('"none" (default')
    expect(JSON.stringify(run?.properties.mounts)).toContain('x-kiln-reference')
    expect(branches).toHaveLength(8)
  })

  it('plans the DESIGN pipeline: edges, phases, targets, and LLB that dockerd 20.10 accepts', async () => {
    const registry = createRegistry([stdPlugin({ baseDir: '/project' })])
    const graph = buildGraph(design, registry)
    expect(graph.edges.map((edge) => `${edge.from}${edge.output === 'default' ? '' : `.${edge.output}`} -> ${edge.to}`)).toEqual(['src -> build', 'src -> test', 'build.bin -> test', 'build.bin -> pkg', 'pkg -> dist'])
    const engine = createFakeEngine({ images: { 'debian:bookworm': { env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] } } })
    const plan = createPlan(await compileGraph(graph, { registry, engine }))
    expect(plan.targets.map((target) => [target.id, target.kind, target.phase, target.secrets, target.exporter])).toEqual([
      // core gives a node without targets (the local source) a build target of its own.
      ['src#build', 'build', 'build', [], undefined],
      ['build#build', 'build', 'build', [], undefined],
      ['test#check', 'check', 'check', ['npm'], undefined],
      ['pkg#build', 'build', 'build', [], undefined],
      ['dist#export', 'export', 'build', [], { type: 'local', dest: '/project/dist' }],
    ])
    const test = plan.target('test#check')
    const definition = marshal(test?.state as never)
    const op = resultOp(definition).op.exec
    expect(op?.meta?.args).toEqual(['/bin/sh', '-c', 'make test'])
    expect(op?.mounts?.map((mount) => mount.dest)).toEqual(['/', '/src', '/src/out', '/run/secrets/npm'])
    expect(definitionRequirements(definition, { baseDir: '/elsewhere' })).toEqual({ localDirs: { src: { path: '/project' } }, entitlements: [] })
    // Every target of the plan marshals against dockerd 20.10's caps (marshal checks them).
    for (const target of plan.targets) expect(marshal(target.state).digest).toMatch(/^sha256:/)
  })

  it('lets kiln.ts write the same graph with typed factories', async () => {
    const config = await resolveConfig(
      defineConfig(() => {
        const src = local({ path: '.', exclude: ['**/*.log'] })
        const build = run({ from: 'debian:bookworm', mounts: { '/src': src }, script: 'make build', outputs: { bin: '/src/out' } })
        const pkg = copy({ from: build.output('bin'), src: '/', dest: '/usr/local/bin/' })
        return { src, build, pkg, dist: exportTo({ from: pkg, to: { tar: 'app.tar' } }) }
      }),
    )
    expect(config.nodes).toEqual({
      src: { type: 'local', path: '.', exclude: ['**/*.log'] },
      build: { type: 'run', from: 'debian:bookworm', mounts: { '/src': 'src' }, script: 'make build', outputs: { bin: '/src/out' } },
      pkg: { type: 'copy', from: 'build.bin', src: '/', dest: '/usr/local/bin/' },
      dist: { type: 'export', from: 'pkg', to: { tar: 'app.tar' } },
    })
    expect(() => buildGraph(config, createRegistry([stdPlugin()]))).not.toThrow()
  })
})
