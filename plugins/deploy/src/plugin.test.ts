import { createPlan, buildGraph, compileGraph, createRegistry, definePlugin, defineNodeType, z, type Plugin } from '@kiln/core'
import { createFakeEngine, fakeFilesystem, fakeImage, fakeState, NodeTypeTester, stateLabel } from '@kiln/core/testing'
import { decodeDefinition, image, isState } from '@kiln/llb'
import { describe, expect, it } from 'vitest'
import deployPlugin, { createExportType, exportType, pushType, runType, RUN_NONCE_ENV } from './index.js'
import { wrapperScript } from './run.js'

describe('deploy.push', () => {
  const tester = new NodeTypeTester(pushType)

  it('is a publish node whose target pushes the image without cache and whose value is the pushed digest', async () => {
    const result = await tester.compile({ image: 'app', to: '127.0.0.1:5000/app:1.0' }, { nodeId: 'ship', inputs: { app: fakeImage('app', { user: '1000' }) } })
    expect(result.phase).toBe('publish')
    expect(result.declaredOutputs).toEqual({ default: 'value' })
    expect(result.outputs.default).toEqual({ kind: 'value', known: false, node: 'ship', output: 'default' })
    expect(result.targets).toHaveLength(1)
    const [target] = result.targets
    expect(target).toMatchObject({
      name: 'push',
      kind: 'publish',
      exporter: { type: 'image', name: '127.0.0.1:5000/app:1.0', push: true },
      image: { config: { user: '1000' } },
      secrets: [],
      cache: false,
      values: { default: { from: 'exporter', key: 'containerimage.digest' } },
    })
    expect(stateLabel(target!.state)).toBe('app')
  })

  it('takes credentials from a secret, marks insecure registries, caches only when asked, defaults the tag to latest', async () => {
    const result = await tester.compile({ image: 'app', to: 'registry.example.com/team/app', auth: 'registry', insecure: true, cache: true }, { inputs: { app: fakeImage('app') }, secrets: ['registry'] })
    expect(result.targets[0]).toMatchObject({ exporter: { type: 'image', name: 'registry.example.com/team/app:latest', push: true, insecure: true }, secrets: ['registry'], cache: true })
    expect(result.targets[0]?.description).toContain('credentials: secret registry')
    await expect(tester.compile({ image: 'app', to: '127.0.0.1:5000/app:1', auth: 'nope' }, { inputs: { app: fakeImage('app') }, secrets: ['registry'] })).rejects.toMatchObject({ message: expect.stringContaining('undeclared secret "nope"') })
  })

  it('wants an image, and a registry host and tag in `to`', () => {
    expect(tester.errors({ image: 'app', to: 'app:1.0' })).toEqual([expect.objectContaining({ code: 'NODE_INVALID_CONFIG', path: ['to'], message: expect.stringContaining('a registry host first') })])
    expect(tester.errors({ image: 'app', to: `127.0.0.1:5000/app@sha256:${'a'.repeat(64)}` })[0]?.message).toContain('a tag, not a digest')
    expect(tester.errors({ image: 'app', to: '127.0.0.1:5000/App:1' })[0]?.message).toContain('a lowercase repository path')
    expect(tester.errors({ to: '127.0.0.1:5000/app:1' })).toEqual([expect.objectContaining({ path: ['image'] })])
    expect(tester.references({ image: 'build.image', to: 'localhost/app:1' })).toEqual([{ path: ['image'], node: 'build', output: 'image', accepts: ['image'] }])
  })
})

describe('deploy.export', () => {
  const tester = new NodeTypeTester(exportType)

  it('exports a filesystem to a directory as a publish target; the value is the destination', async () => {
    const result = await tester.compile({ from: 'build', to: { local: 'dist' } }, { inputs: { build: fakeFilesystem('build') } })
    expect(result.phase).toBe('publish')
    expect(result.outputs.default).toEqual({ kind: 'value', known: true, value: 'dist' })
    expect(result.targets).toEqual([expect.objectContaining({ name: 'export', kind: 'publish', exporter: { type: 'local', dest: 'dist' }, cache: false })])
    expect(stateLabel(result.targets[0]!.state)).toBe('build')
  })

  it('writes tarballs, resolves relative destinations against baseDir, and selects a directory with `path`', async () => {
    const based = new NodeTypeTester(createExportType({ baseDir: '/project' }))
    const input = image('busybox:latest')
    const result = await based.compile({ from: 'build.bin', path: '/usr/bin', to: { tar: 'out/bin.tar' }, cache: true }, { inputs: { 'build.bin': { kind: 'filesystem', state: input } } })
    expect(result.outputs.default).toEqual({ kind: 'value', known: true, value: '/project/out/bin.tar' })
    const target = result.targets[0]!
    expect(target).toMatchObject({ exporter: { type: 'tar', dest: '/project/out/bin.tar' }, cache: true })
    expect(isState(target.state)).toBe(true)
    const decoded = decodeDefinition((target.state as typeof input).marshal().bytes)
    const copy = decoded.ops.map((op) => op.op.file?.actions?.[0]?.copy).find((item) => item !== undefined)
    expect(copy).toMatchObject({ src: '/usr/bin', dest: '/', dirCopyContents: true })
  })

  it('rejects anything but a local directory or a tarball', () => {
    expect(tester.errors({ from: 'build', to: { image: 'x:1' } })).toEqual([expect.objectContaining({ code: 'NODE_INVALID_CONFIG', path: ['to'] })])
    expect(tester.errors({ from: 'build', to: { local: 'd' }, path: 'relative' })).toEqual([expect.objectContaining({ path: ['path'] })])
  })
})

describe('deploy.run', () => {
  const tester = new NodeTypeTester(runType)
  const engine = createFakeEngine({ images: { 'busybox:latest': { env: ['PATH=/bin'], workingDir: '/' } } })

  it('runs the command on an image with no network and no cache; its value is the captured stdout', async () => {
    const result = await tester.compile({ from: 'busybox:latest', command: ['echo', 'hello'] }, { nodeId: 'notify', engine })
    expect(result.phase).toBe('publish')
    expect(result.outputs.default).toEqual({ kind: 'value', known: false, node: 'notify', output: 'default' })
    const target = result.targets[0]!
    expect(target).toMatchObject({ name: 'run', kind: 'publish', cache: false, values: { default: { from: 'file', path: '/stdout' } } })
    expect(target.exporter).toBeUndefined()
    expect(target.description).toContain('network: none')
    const definition = decodeDefinition((target.state as ReturnType<typeof image>).marshal().bytes)
    const exec = definition.ops.map((op) => op.op.exec).find((item) => item !== undefined)!
    expect(exec.meta?.args?.slice(0, 2)).toEqual(['/bin/sh', '-c'])
    expect(exec.meta?.args?.slice(3)).toEqual(['kiln-deploy', 'echo', 'hello'])
    expect(exec.network ?? 0).toBe(2) // NONE
    expect(exec.meta?.env).toEqual(expect.arrayContaining(['PATH=/bin', expect.stringMatching(new RegExp(`^${RUN_NONCE_ENV}=`))]))
    expect(exec.mounts?.map((mount) => mount.dest)).toEqual(['/', '/kiln/out', '/kiln/tmp'])
    expect(engine.calls.map((call) => call.method)).toContain('resolveImageConfig')
  })

  it('gets a fresh cache key per compile unless cache is asked for', async () => {
    const digest = async (config: Record<string, unknown>) => {
      const result = await tester.compile(config, { engine })
      const state = result.targets[0]!.state as ReturnType<typeof image>
      return state.marshal().digest ?? decodeDefinition(state.marshal().bytes).ops.at(-1)?.digest
    }
    const uncached = { from: 'busybox:latest', script: 'echo hi' }
    expect(await digest(uncached)).not.toEqual(await digest(uncached))
    const cached = { ...uncached, cache: true }
    expect(await digest(cached)).toEqual(await digest(cached))
  })

  it('mounts secrets as files, opts in to the host network, mounts inputs read-only', async () => {
    const base = { kind: 'image' as const, state: image('debian:bookworm'), config: {} }
    const result = await tester.compile(
      { from: 'tools', script: 'deploy --token-file /run/secrets/token', secrets: { token: null, kubeconfig: { target: '/root/.kube/config', mode: '0440' } }, network: 'host', mounts: { '/manifests': 'render' }, json: true },
      { inputs: { tools: base, render: { kind: 'filesystem', state: image('busybox:latest') } }, secrets: ['token', 'kubeconfig'] },
    )
    const target = result.targets[0]!
    expect(target.secrets).toEqual(['token', 'kubeconfig'])
    expect(target.values).toEqual({ default: { from: 'file', path: '/stdout', json: true } })
    expect(target.description).toContain('network: host')
    const definition = decodeDefinition((target.state as ReturnType<typeof image>).marshal().bytes)
    const exec = definition.ops.map((op) => op.op.exec).find((item) => item !== undefined)!
    expect(exec.network).toBe(1) // HOST
    expect(exec.mounts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dest: '/manifests', readonly: true }),
        expect.objectContaining({ dest: '/run/secrets/token', mountType: 1, secretOpt: expect.objectContaining({ ID: 'token' }) }),
        expect.objectContaining({ dest: '/root/.kube/config', secretOpt: expect.objectContaining({ ID: 'kubeconfig', mode: 0o440 }) }),
      ]),
    )
    // The secret files are redacted by the wrapper; their values never appear in the LLB.
    expect(exec.meta?.args?.[2]).toContain("KILN_SECRET_FILES='/run/secrets/token\n/root/.kube/config'")
  })

  it('validates command/script and reserved or duplicate paths', () => {
    expect(tester.errors({ from: 'busybox:latest' })).toEqual([expect.objectContaining({ path: ['command'], expected: '`command` (argv) or `script` (shell)' })])
    expect(tester.errors({ from: 'busybox:latest', command: ['a'], script: 'b' })[0]?.path).toEqual(['script'])
    expect(tester.errors({ from: 'busybox:latest', command: ['a'], mounts: { '/kiln/out': 'x' } })[0]?.message).toContain('expected a path outside /kiln')
    expect(tester.errors({ from: 'busybox:latest', command: ['a'], mounts: { '/run/secrets/t': 'x' }, secrets: { t: null } })[0]?.message).toContain('expected a path not already used by mounts./run/secrets/t')
    expect(tester.errors({ from: 'busybox:latest', command: ['a'], network: 'bridge' })[0]?.path).toEqual(['network'])
  })

  it('wraps the command so secret values are replaced before anything is written or logged', () => {
    expect(wrapperScript([])).toContain('redact() { cat "$1"; }')
    const script = wrapperScript(['/run/secrets/a'])
    expect(script).toContain('command -v awk')
    expect(script).toContain('"$@" >"$tmp/stdout" 2>"$tmp/stderr"')
    expect(script.indexOf('redact "$tmp/stdout" >"$out/stdout"')).toBeLessThan(script.indexOf('cat "$out/stdout"'))
  })
})

describe('deployPlugin in a plan', () => {
  const build = defineNodeType({ kind: 'fixture.build', schema: z.strictObject({}), outputs: { default: 'image' }, compile: (node) => ({ default: { kind: 'image', state: fakeState(node.id), config: {} } }) })
  const check = defineNodeType({ kind: 'fixture.check', schema: z.strictObject({}), phase: 'check', compile(node, ctx) {
    ctx.target({ kind: 'check', state: fakeState(node.id) })
    return { default: { kind: 'filesystem', state: fakeState(node.id) } }
  } })
  const fixtures: Plugin = definePlugin({ meta: { name: 'fixtures', version: '0.0.0' }, apiVersion: 'v1', nodeTypes: [build, check] })

  it('registers the three kinds, and every deploy target waits for every build and check of the run', async () => {
    const plugin = deployPlugin()
    expect(plugin.meta.name).toBe('@kiln/plugin-deploy')
    expect(plugin.nodeTypes?.map((type) => type.kind)).toEqual(['deploy.push', 'deploy.export', 'deploy.run'])
    const registry = createRegistry([fixtures, plugin])
    const graph = buildGraph(
      {
        secrets: { registry: {} },
        nodes: {
          app: { type: 'fixture.build' },
          test: { type: 'fixture.check' },
          ship: { type: 'deploy.push', image: 'app', to: '127.0.0.1:5000/app:1', auth: 'registry' },
          files: { type: 'deploy.export', from: 'app', to: { tar: 'app.tar' } },
        },
      },
      registry,
    )
    const plan = createPlan(await compileGraph(graph, { registry }))
    expect(plan.target('ship#push')).toMatchObject({ phase: 'publish', cache: false, secrets: ['registry'] })
    expect(plan.target('ship#push')?.dependsOn).toEqual(expect.arrayContaining(['app#build', 'test#check']))
    expect(plan.target('files#export')?.dependsOn).toEqual(expect.arrayContaining(['app#build', 'test#check']))
    expect(plan.target('files#export')?.dependsOn).not.toContain('ship#push')
  })
})
