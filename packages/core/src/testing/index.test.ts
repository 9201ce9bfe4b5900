import { describe, expect, it } from 'vitest'
import { isCoreError, isStateLike } from '../index.js'
import { check, push, run } from '../__fixtures__/plugin.js'
import { createFakeEngine, createTestContext, fakeFilesystem, fakeImage, fakeState, NodeTypeTester, stateLabel } from './index.js'

describe('NodeTypeTester', () => {
  it('reports config errors exactly as buildGraph does', () => {
    const tester = new NodeTypeTester(run)
    expect(tester.errors({ script: 'make' })).toEqual([])
    const errors = tester.errors({ script: 3, mounts: { '/src': [] } }, 'build')
    expect(errors.map((error) => error.message)).toEqual([
      'Node "build" has invalid config at mounts["/src"]: expected a reference to filesystem or image output ("nodeId" or "nodeId.output"), received array',
      'Node "build" has invalid config at script: expected string, received number 3',
    ])
    expect(() => tester.parse({})).toThrow('Invalid graph (1 error):\n  - Node "node" has invalid config at script: expected string, received nothing (the field is missing)')
  })

  it('lists references and outputs of a config', () => {
    const tester = new NodeTypeTester(run)
    const config = { script: 'make', mounts: { '/src': 'src', '/bin': 'build.bin' }, outputs: { dist: '/dist' } }
    expect(tester.references(config)).toEqual([
      { path: ['mounts', '/src'], node: 'src', output: 'default', accepts: ['filesystem', 'image'] },
      { path: ['mounts', '/bin'], node: 'build', output: 'bin', accepts: ['filesystem', 'image'] },
    ])
    expect(tester.outputs(config)).toEqual({ default: 'filesystem', dist: 'filesystem' })
  })

  it('compiles with fake inputs and records targets and reports', async () => {
    const result = await new NodeTypeTester(check).compile({ image: 'img' }, { nodeId: 'scan', inputs: { img: fakeImage('img', { user: 'root' }) } })
    expect(result.phase).toBe('check')
    expect(result.outputs).toEqual({ default: { kind: 'value', known: true, value: 'checked' } })
    expect(result.targets.map((target) => [target.kind, stateLabel(target.state)])).toEqual([['check', 'img']])
    expect(result.reports.map((report) => report.message)).toEqual(['Image img runs as root (at image)'])
  })

  it('wraps compile errors like a run, e.g. an input of the wrong kind or a missing one', async () => {
    const tester = new NodeTypeTester(check)
    const wrongKind = await tester.compile({ image: 'img' }, { inputs: { img: fakeFilesystem('img') } }).catch((error: unknown) => error)
    expect(isCoreError(wrongKind, 'PLUGIN_ERROR')).toBe(true)
    expect(isCoreError((wrongKind as Error).cause, 'GRAPH_KIND_MISMATCH')).toBe(true)
    expect(((wrongKind as Error).cause as Error).message).toBe('Node "node" references "img.default": expected an image, received a filesystem')
    const missing = await tester.compile({ image: 'img' }).catch((error: unknown) => error)
    expect(((missing as Error).cause as Error).message).toBe('Node "node" asked for input "img": expected one of none (test inputs)')
  })

  it('checks secrets against the declared names', async () => {
    const ok = await new NodeTypeTester(push).compile({ image: 'img', to: 'r/a', auth: 'token' }, { inputs: { img: fakeImage('img') }, secrets: ['token'] })
    expect(ok.targets[0]?.secrets).toEqual(['token'])
    const error = await new NodeTypeTester(push).compile({ image: 'img', to: 'r/a', auth: 'tokn' }, { inputs: { img: fakeImage('img') }, secrets: ['token'] }).catch((thrown: unknown) => thrown)
    expect(((error as Error).cause as Error).message).toBe('Node "node" uses undeclared secret "tokn": expected token')
  })
})

describe('createTestContext and createFakeEngine', () => {
  it('serves files, directories and image configs, and records calls', async () => {
    const engine = createFakeEngine({ files: { '/etc/passwd': 'root:x:0:0', 'app/bin/tool': new Uint8Array([1, 2]) }, images: { 'debian:bookworm': { user: 'root' } } })
    const ctx = createTestContext({ engine, params: { version: '1' } })
    expect(ctx.params).toEqual({ version: '1' })
    const state = fakeFilesystem('x').state
    expect(new TextDecoder().decode(await ctx.requireEngine().readFile(state, 'etc/passwd'))).toBe('root:x:0:0')
    expect(await engine.readDir(state, '/app')).toEqual([{ name: 'bin', type: 'directory', size: 0, mode: 0o40755 }])
    expect(await engine.readDir(state, '/app/bin')).toEqual([{ name: 'tool', type: 'file', size: 2, mode: 0o100644 }])
    expect(await engine.resolveImageConfig('debian:bookworm')).toEqual({ digest: `sha256:${'0'.repeat(64)}`, config: { user: 'root' } })
    await expect(engine.readFile(state, '/nope')).rejects.toThrow('No such file: expected /nope in the result, received nothing')
    expect(engine.calls.map((call) => call.method)).toEqual(['readFile', 'readDir', 'readDir', 'resolveImageConfig', 'readFile'])
  })

  it('has no engine unless given one', () => {
    const ctx = createTestContext({ nodeId: 'n' })
    expect(ctx.engine).toBeUndefined()
    expect(() => ctx.requireEngine()).toThrow('Node "n" needs engine services to compile: expected an engine, received none (pure planning)')
  })
})

describe('fake states', () => {
  it('carry the llb marker that isStateLike checks, even through a prototype getter', () => {
    expect(isStateLike(fakeState('a'))).toBe(true)
    class Branded {
      get [Symbol.for('kiln.llb.state')](): true {
        return true
      }
    }
    expect(isStateLike(new Branded())).toBe(true)
    expect(isStateLike({ label: 'a' })).toBe(false)
    expect(isStateLike(null)).toBe(false)
  })
})
