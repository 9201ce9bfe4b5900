import { isCoreError } from '@kiln/core'
import { createFakeEngine, fakeFilesystem, NodeTypeTester } from '@kiln/core/testing'
import { CacheSharingOpt, DOCKERD_26_1, isLlbError, MountType, NetMode } from '@kiln/llb'
import { describe, expect, it } from 'vitest'
import { execOf, fileActions, inputOp, marshal, resultOp, stateOf } from './__fixtures__/llb.js'
import { localType } from './local.js'
import { runType } from './run.js'

const tester = new NodeTypeTester(runType)
const messages = (config: unknown) => tester.errors(config).map((error) => [error.path, error.message])

async function localInput(nodeId: string) {
  return (await new NodeTypeTester(localType).compile({ path: nodeId }, { nodeId })).outputs.default
}

describe('run: config', () => {
  it('accepts the DESIGN example', () => {
    expect(tester.errors({ from: 'debian:bookworm', mounts: { '/src': 'src' }, workdir: '/src', script: 'make build', caches: { '/root/.cache': 'build-cache' }, outputs: { bin: '/src/out' } })).toEqual([])
  })

  it('wants exactly one of command and script', () => {
    expect(messages({ from: 'busybox:latest' })).toEqual([[['command'], 'Node "node" has invalid config at command: expected `command` (argv) or `script` (shell), received nothing (the field is missing)']])
    expect(messages({ from: 'busybox:latest', command: ['true'], script: 'true' })).toEqual([[['script'], 'Node "node" has invalid config at script: expected either `command` or `script`, not both, received "true"']])
    expect(messages({ from: 'busybox:latest', command: [] })).toEqual([[['command'], 'Node "node" has invalid config at command: expected at least 1 item(s), received 0 item(s)']])
  })

  it('names the field of each mistake', () => {
    expect(
      messages({
        from: 3,
        script: 'x',
        env: { 'BAD-NAME': 'x' },
        mounts: { relative: 'src', '/ok': ['src'] },
        caches: { '/c': 7 },
        network: 'bridge',
        outputs: { default: '/out' },
        phase: 'publish',
      }),
    ).toEqual([
      [['from'], 'Node "node" has invalid config at from: expected string or object or a reference to image or filesystem output ("nodeId" or "nodeId.output"), received number 3'],
      [['env', 'BAD-NAME'], 'Node "node" has invalid config at env.BAD-NAME: expected environment variable names as keys (letters, digits and _), received "x"'],
      [['mounts', 'relative'], 'Node "node" has invalid config at mounts.relative: expected absolute paths as keys, received "src"'],
      [['mounts', '/ok'], 'Node "node" has invalid config at mounts["/ok"]: expected a reference to filesystem or image output ("nodeId" or "nodeId.output") or object, received array'],
      [['caches', '/c'], 'Node "node" has invalid config at caches["/c"]: expected string or object, received number 7'],
      [['network'], 'Node "node" has invalid config at network: expected one of "none", "host", received "bridge"'],
      [['outputs', 'default'], 'Node "node" has invalid config at outputs.default: expected output names as keys, other than "default" (a letter or _, then letters, digits, _ or -), received "/out"'],
      [['phase'], 'Node "node" has invalid config at phase: expected one of "build", "check", received "publish"'],
    ])
  })

  it('refuses a path mounted twice, and outputs inside caches or read-only mounts', () => {
    expect(messages({ from: 'busybox:latest', script: 'x', mounts: { '/src': 'src' }, caches: { '/src/': 'c' } })).toEqual([
      [['caches', '/src/'], 'Node "node" has invalid config at caches["/src/"]: expected a path not already used by mounts./src, received "c"'],
    ])
    expect(messages({ from: 'busybox:latest', script: 'x', mounts: { '/src': { from: 'src', readonly: true } }, caches: { '/cache': 'c' }, outputs: { a: '/cache/a', b: '/src/out' } })).toEqual([
      [['outputs', 'a'], 'Node "node" has invalid config at outputs.a: expected a path outside the cache mount at /cache (it has no snapshot), received "/cache/a"'],
      [['outputs', 'b'], 'Node "node" has invalid config at outputs.b: expected a path outside the read-only mount at /src, received "/src/out"'],
    ])
  })

  it('tells image references from node references, and finds every edge', () => {
    expect(tester.references({ from: 'debian:bookworm', script: 'x' })).toEqual([])
    expect(tester.references({ from: { image: 'busybox', platform: 'linux/arm64' }, script: 'x' })).toEqual([])
    expect(tester.references({ from: 'base', script: 'x', mounts: { '/src': 'src', '/bin': { from: 'build.bin', readonly: true } } })).toEqual([
      { path: ['from'], node: 'base', output: 'default', accepts: ['image', 'filesystem'] },
      { path: ['mounts', '/src'], node: 'src', output: 'default', accepts: ['filesystem', 'image'] },
      { path: ['mounts', '/bin', 'from'], node: 'build', output: 'bin', accepts: ['filesystem', 'image'] },
    ])
  })

  it('declares an image output on an image, a filesystem output on a node, plus the named outputs', () => {
    expect(tester.outputs({ from: 'debian:bookworm', script: 'x', outputs: { bin: '/out' } })).toEqual({ default: 'image', bin: 'filesystem' })
    expect(tester.outputs({ from: 'base', script: 'x' })).toEqual({ default: 'filesystem' })
  })
})

describe('run: compile', () => {
  it('runs a script with /bin/sh -c on the image, hermetic by default', async () => {
    const { outputs, targets, phase } = await tester.compile({ from: 'busybox:latest', script: 'echo hi > /hello' }, { nodeId: 'hello' })
    expect(phase).toBe('build')
    const definition = marshal(stateOf(outputs.default))
    const { op, entry } = execOf(definition)
    expect(op.meta).toEqual({ args: ['/bin/sh', '-c', 'echo hi > /hello'], env: [], cwd: '/' })
    expect(op.network).toBe(NetMode.NONE)
    expect(op.mounts).toEqual([{ input: 0, dest: '/', output: 0, readonly: false, selector: '' }])
    expect(inputOp(definition, entry, 0).op.source?.identifier).toBe('docker-image://docker.io/library/busybox:latest')
    expect(entry.metadata.description).toEqual({ 'llb.customname': '[hello] echo hi > /hello' })
    expect(targets).toEqual([{ kind: 'build', state: stateOf(outputs.default), description: 'run echo hi > /hello on busybox:latest (network: none)' }])
    // Golden digest of the whole definition: the same config always yields the same LLB.
    expect(definition.digest).toBe('sha256:a4cd51195d165ea4237b1b4f66e61ba43d8b35fa01194270057d2cc0c75cf801')
  })

  it('runs argv with env, workdir and user on top of the image config', async () => {
    const engine = createFakeEngine({ images: { 'debian:bookworm': { env: ['PATH=/usr/bin:/bin', 'HOME=/root'], workingDir: '/app' } } })
    const { outputs } = await tester.compile({ from: 'debian:bookworm', command: ['make', 'test'], env: { CI: 1, HOME: '/tmp' }, workdir: 'sub', user: '1000:1000' }, { engine })
    expect(engine.calls.map((call) => call.args)).toEqual([['debian:bookworm']])
    expect(execOf(marshal(stateOf(outputs.default))).op.meta).toEqual({ args: ['make', 'test'], env: ['PATH=/usr/bin:/bin', 'HOME=/tmp', 'CI=1'], cwd: '/app/sub', user: '1000:1000' })
  })

  it('runs on another node output', async () => {
    // A state that is not an llb State (here core's test fake) is refused by name instead of emitting broken LLB.
    const error = await tester.compile({ from: 'rootfs', command: ['/bin/true'] }, { nodeId: 'build', inputs: { rootfs: fakeFilesystem('x') } }).catch((caught: unknown) => caught)
    expect(((error as Error).cause as Error).message).toBe('Expected the "from" of node "build" to be an LLB State from @kiln/llb, received object')
    const local = await localInput('rootfs')
    const real = await tester.compile({ from: 'rootfs', script: 'make', shell: ['/bin/bash', '-eu', '-c'] }, { inputs: { rootfs: local } })
    expect(real.outputs.default?.kind).toBe('filesystem')
    expect(execOf(marshal(stateOf(real.outputs.default))).op.meta?.args).toEqual(['/bin/bash', '-eu', '-c', 'make'])
  })

  it('mounts other outputs (sorted by dest, so parents come first), caches by id, tmpfs; keeps only mounts an output needs', async () => {
    const src = await localInput('src')
    const deps = await localInput('deps')
    const { outputs } = await tester.compile(
      {
        from: 'busybox:latest',
        script: 'make',
        mounts: { '/src/vendor': { from: 'deps', readonly: true, selector: 'vendor' }, '/src': 'src', '/opt': 'deps' },
        caches: { '/root/.cache': 'build-cache', '/var/lock': { id: 'locks', sharing: 'locked' } },
        tmpfs: ['/tmp'],
        outputs: { bin: '/src/out' },
      },
      { inputs: { src, deps } },
    )
    const definition = marshal(stateOf(outputs.default))
    const { op, entry } = execOf(definition)
    const sourceOf = (input: number | undefined) => (input === undefined || input < 0 ? undefined : inputOp(definition, entry, input).op.source?.identifier)
    expect(op.mounts?.map((mount) => ({ ...mount, input: sourceOf(mount.input ?? 0) }))).toEqual([
      { input: 'docker-image://docker.io/library/busybox:latest', dest: '/', output: 0, readonly: false, selector: '' },
      { input: 'local://deps', dest: '/opt', output: -1, readonly: false, selector: '' },
      { input: undefined, dest: '/root/.cache', output: -1, readonly: false, selector: '', mountType: MountType.CACHE, cacheOpt: { ID: 'build-cache', sharing: CacheSharingOpt.SHARED } },
      { input: 'local://src', dest: '/src', output: 1, readonly: false, selector: '' },
      { input: 'local://deps', dest: '/src/vendor', output: -1, readonly: true, selector: 'vendor' },
      { input: undefined, dest: '/tmp', output: -1, readonly: false, selector: '', mountType: MountType.TMPFS, TmpfsOpt: { size: 0 } },
      { input: undefined, dest: '/var/lock', output: -1, readonly: false, selector: '', mountType: MountType.CACHE, cacheOpt: { ID: 'locks', sharing: CacheSharingOpt.LOCKED } },
    ])
    expect(Object.keys(entry.metadata.caps ?? {}).sort()).toEqual([
      'exec.meta.base', 'exec.meta.network', 'exec.meta.setsdefaultpath', 'exec.mount.bind', 'exec.mount.bind.readwrite-nooutput',
      'exec.mount.cache', 'exec.mount.cache.sharing', 'exec.mount.selector', 'exec.mount.tmpfs',
    ])

    // bin is /out of the /src mount after the run, copied onto an empty filesystem.
    const bin = marshal(stateOf(outputs.bin))
    const copyOp = resultOp(bin)
    expect(copyOp.op.inputs).toEqual([{ digest: entry.digest, index: 1 }])
    expect(fileActions(copyOp)).toEqual([
      { input: -1, secondaryInput: 0, output: 0, copy: expect.objectContaining({ src: '/out', dest: '/', dirCopyContents: true, createDestPath: true, followSymlink: false, allowWildcard: false }) },
    ])
  })

  it('gives an output that is a mount dest without a copy, and one in the root filesystem by copy', async () => {
    const src = await localInput('src')
    const { outputs } = await tester.compile({ from: 'busybox:latest', script: 'make', mounts: { '/src': 'src' }, outputs: { tree: '/src', dist: '/dist' } }, { inputs: { src } })
    const exec = execOf(marshal(stateOf(outputs.default))).entry
    const tree = marshal(stateOf(outputs.tree))
    expect(tree.digest).toBe(exec.digest)
    expect(tree.outputIndex).toBe(1)
    const dist = resultOp(marshal(stateOf(outputs.dist)))
    expect(dist.op.inputs).toEqual([{ digest: exec.digest }])
    expect(fileActions(dist)[0]?.copy).toMatchObject({ src: '/dist', dest: '/' })
  })

  it('mounts secrets as files by id only, lists them on the target, and checks they are declared', async () => {
    const { outputs, targets } = await tester.compile(
      { from: 'busybox:latest', script: 'cat /run/secrets/npm', secrets: { npm: null, registry: { target: '/root/.token', mode: '0440', uid: 1000, gid: 1000 } } },
      { secrets: ['npm', 'registry'] },
    )
    const definition = marshal(stateOf(outputs.default))
    const { op } = execOf(definition)
    expect(op.mounts?.filter((mount) => mount.mountType === MountType.SECRET)).toEqual([
      { input: -1, dest: '/run/secrets/npm', mountType: MountType.SECRET, secretOpt: { ID: 'npm', uid: 0, gid: 0, mode: 0o400, optional: false } },
      { input: -1, dest: '/root/.token', mountType: MountType.SECRET, secretOpt: { ID: 'registry', uid: 1000, gid: 1000, mode: 0o440, optional: false } },
    ])
    expect(op.secretenv).toBeUndefined()
    expect(targets[0]?.secrets).toEqual(['npm', 'registry'])
    expect(targets[0]?.description).toBe('run cat /run/secrets/npm on busybox:latest (network: none; secrets: npm, registry)')
    expect(tester.errors({ from: 'busybox:latest', script: 'x', secrets: { 'bad name': null } }).map((error) => error.path)).toEqual([['secrets', 'bad name']])
    const undeclared = await tester.compile({ from: 'busybox:latest', script: 'x', secrets: { other: null } }, { secrets: ['npm'] }).catch((error: unknown) => error)
    expect(isCoreError((undeclared as Error).cause, 'GRAPH_UNKNOWN_SECRET')).toBe(true)
  })

  it('exposes a secret as an env var only when asked, which dockerd 20.10 cannot do and 26.1 can', async () => {
    const { outputs } = await tester.compile({ from: 'busybox:latest', script: 'echo', secrets: { token: { env: 'TOKEN' } } })
    const error = (() => {
      try {
        marshal(stateOf(outputs.default))
      } catch (caught) {
        return caught
      }
    })()
    expect(isLlbError(error)).toBe(true)
    expect((error as Error).message).toContain('secrets as environment variables (capability exec.secretenv), but dockerd 20.10 (BuildKit v0.8) does not support it')
    const { op } = execOf(marshal(stateOf(outputs.default), DOCKERD_26_1))
    expect(op.secretenv).toEqual([{ ID: 'token', name: 'TOKEN', optional: false }])
    expect(op.mounts?.some((mount) => mount.mountType === MountType.SECRET)).toBe(false)
  })

  it('opts in to the host network, and says so in the plan', async () => {
    const { outputs, targets } = await tester.compile({ from: 'busybox:latest', command: ['wget', 'http://127.0.0.1:5000/'], network: 'host', phase: 'check' })
    expect(execOf(marshal(stateOf(outputs.default))).op.network).toBe(NetMode.HOST)
    expect(targets).toEqual([{ kind: 'check', state: stateOf(outputs.default), description: 'run wget http://127.0.0.1:5000/ on busybox:latest (network: host (needs the network.host entitlement))' }])
  })

  it('is a check node when it is a test', async () => {
    expect((await tester.compile({ from: 'busybox:latest', script: 'make test', phase: 'check' })).phase).toBe('check')
  })

  it('fails with the mismatch when a from reference is a value', async () => {
    const error = await tester.compile({ from: 'tag', script: 'x' }, { inputs: { tag: { kind: 'value', known: true, value: '1' } } }).catch((caught: unknown) => caught)
    expect(isCoreError((error as Error).cause, 'GRAPH_KIND_MISMATCH')).toBe(true)
  })
})
