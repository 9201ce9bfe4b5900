import { describe, expect, it } from 'vitest'
import { buildGraph, createNode, createNodeFactory, createRegistry, defineConfig, isNodeHandle, resolveConfig } from './index.js'
import type { PipelineConfig } from './index.js'
import { image, local, run, testPlugin } from './__fixtures__/plugin.js'

const localNode = createNodeFactory(local)
const runNode = createNodeFactory(run)
const imageNode = createNodeFactory(image)

describe('kiln.ts authoring', () => {
  it('resolves handles into the same config, and the same graph, as the YAML form', async () => {
    const definition = defineConfig({
      params: { version: { default: '1.0.0' } },
      nodes: ({ params }) => {
        const src = localNode({ path: '.', exclude: ['**/*.log'] })
        const build = runNode({ mounts: { '/src': src }, script: 'make', outputs: { bin: '/src/out' } })
        const test = runNode({ mounts: { '/src': src, '/out': build.output('bin') }, script: 'make test', after: [build] })
        const base = imageNode({ ref: `app:${params.version}` })
        return { src, build, test, base }
      },
    })
    const resolved = await resolveConfig(definition)
    const yaml: PipelineConfig = {
      params: { version: { default: '1.0.0' } },
      nodes: {
        src: { type: 'local', path: '.', exclude: ['**/*.log'] },
        build: { type: 'run', mounts: { '/src': 'src' }, script: 'make', outputs: { bin: '/src/out' } },
        test: { type: 'run', after: ['build'], mounts: { '/src': 'src', '/out': 'build.bin' }, script: 'make test' },
        base: { type: 'image', ref: 'app:${{ params.version }}' },
      },
    }
    expect(resolved).toEqual(yaml)
    const registry = createRegistry([testPlugin])
    const fromTs = buildGraph(resolved, registry)
    const fromYaml = buildGraph(yaml, registry)
    expect(fromTs.order).toEqual(fromYaml.order)
    expect(fromTs.edges).toEqual(fromYaml.edges)
    expect(fromTs.node('base')?.config).toEqual({ ref: 'app:1.0.0' })
  })

  it('accepts a function returning handles directly, and names handles that were not returned', async () => {
    const resolved = await resolveConfig(
      defineConfig(() => {
        const src = localNode({ path: '.' })
        return { build: runNode({ mounts: { '/src': src, '/again': src.output('default') }, script: 'make' }), local: createNode('image', { ref: 'x' }) }
      }),
    )
    expect(resolved.nodes).toEqual({
      build: { type: 'run', mounts: { '/src': 'local-2', '/again': 'local-2' }, script: 'make' },
      local: { type: 'image', ref: 'x' },
      'local-2': { type: 'local', path: '.' },
    })
  })

  it('passes YAML-style entries through and rejects non-plain objects', async () => {
    expect(await resolveConfig({ nodes: { a: { type: 'local', path: '.' } } })).toEqual({ nodes: { a: { type: 'local', path: '.' } } })
    await expect(resolveConfig({ nodes: { a: createNode('local', { path: new Date(0) as never }) } })).rejects.toThrow(
      'Node "a" has a non-plain object at path: expected plain data or node handles, received Date',
    )
  })

  it('marks handles so they are recognised across copies of core', () => {
    const handle = localNode({ path: '.' })
    expect(isNodeHandle(handle)).toBe(true)
    expect(isNodeHandle({ type: 'local', config: {}, after: [], output: () => undefined })).toBe(false)
    expect(handle.output('x')).toEqual({ node: handle, output: 'x' })
  })
})
