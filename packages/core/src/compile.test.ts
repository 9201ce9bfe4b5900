import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { buildGraph, compileGraph, createRegistry, defineNodeType, definePlugin, isCoreError, PluginError, ref } from './index.js'
import type { CompileContext, FilesystemArtifact, PipelineConfig } from './index.js'
import { testPlugin } from './__fixtures__/plugin.js'
import { createFakeEngine, fakeImage, fakeState, stateLabel } from './testing/index.js'

function recorder() {
  const calls: string[] = []
  const step = defineNodeType({
    kind: 'step',
    schema: z.strictObject({ inputs: z.array(ref(['filesystem', 'image'])).default([]), fail: z.string().optional(), wait: z.number().default(0) }),
    async compile(node, ctx) {
      calls.push(`start ${node.id}`)
      if (node.config.wait > 0) await new Promise((resolve) => setTimeout(resolve, node.config.wait))
      if (node.config.fail === 'throw') throw new Error(`cannot compile ${node.id}`)
      if (node.config.fail === 'string') throw 'nope'
      if (node.config.fail === 'missing') return {} as never
      if (node.config.fail === 'kind') return { default: { kind: 'value', known: true, value: 1 } } as never
      const labels = node.config.inputs.map((reference) => stateLabel(ctx.input(reference).state))
      calls.push(`done ${node.id}`)
      return { default: { kind: 'filesystem', state: fakeState(`${node.id}(${labels.join(',')})`) } }
    },
  })
  const plugin = definePlugin({ meta: { name: 'kiln-plugin-steps', version: '0.1.0' }, apiVersion: 'v1', nodeTypes: [step] })
  return { calls, registry: createRegistry([plugin]) }
}

describe('compileGraph', () => {
  it('compiles in topological order, each node seeing its inputs compiled', async () => {
    const { calls, registry } = recorder()
    const config: PipelineConfig = {
      nodes: {
        d: { type: 'step', inputs: ['b', 'c'] },
        b: { type: 'step', inputs: ['a'], wait: 20 },
        c: { type: 'step', inputs: ['a'] },
        a: { type: 'step' },
      },
    }
    const compiled = await compileGraph(buildGraph(config, registry), { registry })
    expect(calls).toEqual(['start a', 'done a', 'start b', 'start c', 'done c', 'done b', 'start d', 'done d'])
    expect([...compiled.nodes.keys()]).toEqual(['a', 'b', 'c', 'd'])
    expect(stateLabel((compiled.nodes.get('d')?.outputs.default as FilesystemArtifact).state)).toBe('d(b(a()),c(a()))')
  })

  it('compiles only the selected nodes and what they depend on', async () => {
    const { calls, registry } = recorder()
    const graph = buildGraph({ nodes: { a: { type: 'step' }, b: { type: 'step', inputs: ['a'] }, other: { type: 'step' } } }, registry)
    const compiled = await compileGraph(graph, { registry, nodes: ['b'] })
    expect([...compiled.nodes.keys()]).toEqual(['a', 'b'])
    expect(calls).not.toContain('start other')
  })

  it('wraps what compile throws in a PluginError naming plugin, hook and node', async () => {
    const { registry } = recorder()
    const graph = buildGraph({ nodes: { a: { type: 'step' }, bad: { type: 'step', inputs: ['a'], fail: 'throw' } } }, registry)
    const error = await compileGraph(graph, { registry }).catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(PluginError)
    expect(isCoreError(error, 'PLUGIN_ERROR')).toBe(true)
    expect(error).toMatchObject({ plugin: 'kiln-plugin-steps', hook: 'compile', nodeId: 'bad', message: 'Plugin kiln-plugin-steps failed in compile for node "bad": cannot compile bad' })
    expect((error as PluginError).cause).toBeInstanceOf(Error)

    const thrownString = await compileGraph(buildGraph({ nodes: { s: { type: 'step', fail: 'string' } } }, registry), { registry }).catch((thrown: unknown) => thrown)
    expect((thrownString as PluginError).message).toBe('Plugin kiln-plugin-steps failed in compile for node "s": threw "nope"')
  })

  it('rejects outputs that are missing or of the wrong kind', async () => {
    const { registry } = recorder()
    const missing = await compileGraph(buildGraph({ nodes: { m: { type: 'step', fail: 'missing' } } }, registry), { registry }).catch((thrown: unknown) => thrown)
    expect((missing as PluginError).message).toBe('Plugin kiln-plugin-steps failed in compile for node "m": output "default" is missing: expected a filesystem, received undefined')
    expect(isCoreError((missing as PluginError).cause, 'NODE_INVALID_OUTPUT')).toBe(true)
    const kind = await compileGraph(buildGraph({ nodes: { k: { type: 'step', fail: 'kind' } } }, registry), { registry }).catch((thrown: unknown) => thrown)
    expect((kind as PluginError).message).toBe('Plugin kiln-plugin-steps failed in compile for node "k": output "default" has the wrong kind: expected a filesystem, received a value')
  })

  it('gives compile params, secrets, reports and targets', async () => {
    const registry = createRegistry([testPlugin])
    const graph = buildGraph(
      {
        params: { to: { default: 'r/app' } },
        secrets: { registry: {} },
        nodes: { base: { type: 'image', ref: 'x' }, scan: { type: 'check', image: 'base' }, push: { type: 'deploy.push', image: 'base', to: '${{ params.to }}:1', auth: 'registry' } },
      },
      registry,
    )
    const compiled = await compileGraph(graph, { registry })
    expect(compiled.params).toEqual({ to: 'r/app' })
    expect(compiled.nodes.get('scan')?.findings).toEqual([
      { rule: 'check/root', severity: 'warn', message: 'Image base runs as root (at image)', messageId: 'root', nodeId: 'scan', data: { image: 'base', user: 'root' } },
    ])
    expect(compiled.nodes.get('push')?.targets).toMatchObject([{ kind: 'publish', exporter: { type: 'image', name: 'r/app:1', push: true }, secrets: ['registry'] }])
    expect(compiled.nodes.get('push')?.outputs).toEqual({ digest: { kind: 'value', known: false, node: 'push', output: 'digest' } })
  })

  it('injects engine services when given, and names the node that needs them when not', async () => {
    let seen: CompileContext['engine']
    const frontend = defineNodeType({
      kind: 'dockerfile',
      schema: z.strictObject({ context: ref('filesystem') }),
      outputs: { default: 'image' },
      async compile(node, ctx) {
        seen = ctx.engine
        return { default: await ctx.requireEngine().solveFrontend({ frontend: 'dockerfile.v0', inputs: { context: ctx.input(node.config.context).state } }) as never }
      },
    })
    const registry = createRegistry([testPlugin, definePlugin({ meta: { name: 'df', version: '1' }, apiVersion: 'v1', nodeTypes: [frontend] })])
    const graph = buildGraph({ nodes: { src: { type: 'local', path: '.' }, img: { type: 'dockerfile', context: 'src' }, use: { type: 'run', script: 'x', from: 'img' } } }, registry)
    const engine = createFakeEngine({ solveFrontend: async (request) => fakeImage(`df:${stateLabel(request.inputs?.context as never)}`, { user: 'app' }) })
    const compiled = await compileGraph(graph, { registry, engine })
    expect(seen).toBe(engine)
    expect(compiled.nodes.get('img')?.outputs.default).toMatchObject({ kind: 'image', config: { user: 'app' } })
    expect(engine.calls.map((call) => call.method)).toEqual(['solveFrontend'])

    const error = await compileGraph(graph, { registry }).catch((thrown: unknown) => thrown)
    expect(error).toMatchObject({ code: 'PLUGIN_ERROR', nodeId: 'img' })
    expect(isCoreError((error as PluginError).cause, 'NODE_ENGINE_REQUIRED')).toBe(true)
    expect(((error as PluginError).cause as Error).message).toBe('Node "img" needs engine services to compile: expected an engine, received none (pure planning)')
  })
})
