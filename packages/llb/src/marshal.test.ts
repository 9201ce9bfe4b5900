import { describe, expect, it } from 'vitest'
import {
  DOCKERD_20_10, DOCKERD_26_1, LlbError, copy, decode, diff, dumpJson, git, http, image, isLlbError, local, merge, mkdir, mkfile,
  ociLayout, scratch, type Definition, type LlbErrorCode, type PbOp,
} from './index.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const amd64 = { platform: 'linux/amd64' } as const

// buildkit-wire.md Appendix B.
const IMAGE_DIGEST = 'sha256:08a03f3ffe5fba421a6403c31e153425ced631d108868f30e04985f99d69326e'
const TERMINAL_DIGEST = 'sha256:371f2d730039d0945bd4f904dd53399ef581413f96ce9e5360f3bbf39da51b4f'
const LOCAL_DIGEST = 'sha256:2a0451a9596400538b941cebdf14401f61d1aba5ae02b0eb7f62ed2065c3880f'
const EXEC_DIGEST = 'sha256:f5b3d026fa4b06a2c10e7daed403ac1b862579e327c1763e651d49cdbd9ffcaf'

function ops(definition: Definition): PbOp[] {
  return [...definition.ops.values()].map((op) => op.op)
}

function catchLlb(fn: () => unknown, code: LlbErrorCode): LlbError {
  try {
    fn()
  } catch (error) {
    if (isLlbError(error, code)) return error
    throw error
  }
  throw new Error(`expected ${code}`)
}

describe('State API reproduces Appendix B', () => {
  it('image("busybox") is vector 1 and its terminal op is vector 2', () => {
    const definition = image('busybox').marshal(amd64)
    expect([...definition.ops.keys()]).toEqual([IMAGE_DIGEST, TERMINAL_DIGEST])
    expect(definition.digest).toBe(IMAGE_DIGEST)
    expect(definition.terminal).toBe(TERMINAL_DIGEST)
    expect(definition.metadata).toEqual({
      [IMAGE_DIGEST]: { caps: { 'source.image': true } },
      [TERMINAL_DIGEST]: { caps: { constraints: true, platform: true } },
    })
  })

  it('local("context") with a shared key hint and unique id is vector 3', () => {
    expect(local('context', { sharedKeyHint: 'context', uniqueId: 'u1' }).marshal(amd64).digest).toBe(LOCAL_DIGEST)
    expect(local('context', { sharedKeyHint: 'context' }).marshal({ ...amd64, localUniqueId: 'u1' }).digest).toBe(LOCAL_DIGEST)
  })

  it('a run with PATH, network none and a writable /out mount is vector 4', () => {
    const exec = image('docker.io/library/busybox:latest').run({
      args: ['/bin/sh', '-c', 'echo hi'], env: { PATH: '/bin' }, network: 'none', mounts: [{ type: 'bind', dest: '/out' }],
    })
    expect(exec.marshal(amd64).digest).toBe(EXEC_DIGEST)
    const out = exec.getMount('/out').marshal(amd64)
    expect(out.digest).toBe(EXEC_DIGEST)
    expect(out.outputIndex).toBe(1)
    const terminal = [...out.ops.values()].at(-1)
    expect(hex(terminal?.bytes ?? new Uint8Array())).toMatch(/^0a4b0a47[0-9a-f]+1001$/)
  })

  it('serializes the Definition with def in post-order and metadata sorted by digest', () => {
    const definition = image('busybox').run({ args: ['true'], network: 'none' }).marshal(amd64)
    const decoded = decode<{ def: Uint8Array[]; metadata: Record<string, unknown> }>('Definition', definition.bytes)
    expect(decoded.def.map(hex)).toEqual(definition.def.map(hex))
    expect(Object.keys(decoded.metadata)).toEqual([...definition.ops.keys()].sort())
    expect([...definition.ops.values()].map((op) => op.name)).toEqual(['docker-image://docker.io/library/busybox:latest', 'true', 'terminal'])
  })
})

describe('marshal', () => {
  it('emits identical ops once and dedups exec inputs by digest', () => {
    const a = image('busybox')
    const b = image('busybox:latest')
    const exec = a.run({ args: ['true'], mounts: [{ type: 'bind', dest: '/b', from: b, readonly: true }] })
    const definition = exec.marshal(amd64)
    expect(definition.ops.size).toBe(3)
    const op = ops(definition)[1] as PbOp
    expect(op.inputs).toEqual([{ digest: IMAGE_DIGEST }])
    expect(op.exec?.mounts?.map((mount) => [mount.dest, mount.input])).toEqual([['/', 0], ['/b', 0]])
  })

  it('sorts mounts by dest, numbers outputs in that order, appends secret and ssh mounts, sets SSH_AUTH_SOCK', () => {
    const exec = image('busybox').run({
      args: ['true'],
      mounts: [
        { type: 'secret', id: 'npmrc', dest: '/root/.npmrc', uid: 1000, mode: 0o440 },
        { type: 'bind', dest: '/z' },
        { type: 'ssh' },
        { type: 'cache', dest: '/c', id: 'go', sharing: 'private' },
        { type: 'bind', dest: '/a', output: false },
        { type: 'tmpfs', dest: '/t' },
      ],
    })
    const op = ops(exec.marshal(amd64))[1] as PbOp
    expect(op.exec?.mounts).toEqual([
      { input: 0, dest: '/', output: 0, readonly: false, selector: '' },
      { input: -1, dest: '/a', output: -1, readonly: false, selector: '' },
      { input: -1, dest: '/c', output: -1, readonly: false, selector: '', mountType: 3, cacheOpt: { ID: 'go', sharing: 1 } },
      { input: -1, dest: '/t', output: -1, readonly: false, selector: '', mountType: 4, TmpfsOpt: { size: 0 } },
      { input: -1, dest: '/z', output: 1, readonly: false, selector: '' },
      { input: -1, dest: '/root/.npmrc', mountType: 1, secretOpt: { ID: 'npmrc', uid: 1000, gid: 0, mode: 0o440, optional: false } },
      { input: -1, dest: '/run/buildkit/ssh_agent.0', mountType: 2, SSHOpt: { ID: 'default', uid: 0, gid: 0, mode: 0o600, optional: false } },
    ])
    expect(op.exec?.meta?.env).toEqual(['SSH_AUTH_SOCK=/run/buildkit/ssh_agent.0'])
    expect(exec.getMount('/z').output()?.index).toBe(1)
    expect(() => exec.getMount('/c')).toThrow(/cache mount at \/c has no output/)
    expect(() => exec.getMount('/a')).toThrow(/output: false/)
    expect(() => exec.getMount('/nope')).toThrow(/Expected the dest of a mount/)
  })

  it('a read-only bind mount hands back its input unchanged', () => {
    const src = local('src', { uniqueId: 'u' })
    const exec = image('busybox').run({ args: ['true'], mounts: [{ type: 'bind', dest: '/src', from: src, readonly: true, selector: 'sub' }] })
    expect(exec.getMount('/src').marshal(amd64).digest).toBe(src.marshal(amd64).digest)
    expect(exec.marshal(amd64).ops.get(exec.marshal(amd64).digest as string)?.metadata.caps).toHaveProperty('exec.mount.selector', true)
  })

  it('takes env, dir, user, hostname, extra hosts from the State and run options', () => {
    const state = image('busybox').withEnv('A', '1').withEnv('B', '2').withEnv('A', '3').dir('/src').dir('sub').user('app').hostname('h').addExtraHost('db', '10.0.0.1')
    const op = ops(state.run({ shell: 'make', env: { C: '4' }, cwd: 'build', proxyEnv: { httpProxy: 'http://p:3128' } }).marshal(amd64))[1] as PbOp
    expect(op.exec?.meta).toEqual({
      args: ['/bin/sh', '-c', 'make'], env: ['A=3', 'B=2', 'C=4'], cwd: '/src/sub/build', user: 'app', hostname: 'h',
      extraHosts: [{ Host: 'db', IP: '10.0.0.1' }], proxyEnv: { httpProxy: 'http://p:3128' },
    })
  })

  it('adds the default PATH only for engines without exec.meta.setsdefaultpath, like Go', () => {
    const exec = image('busybox').run({ args: ['true'] })
    const env = (definition: Definition) => (ops(definition)[1] as PbOp).exec?.meta?.env
    expect(env(exec.marshal(amd64))).toEqual([])
    const withCap = exec.marshal({ ...amd64, ...DOCKERD_20_10 })
    expect(env(withCap)).toEqual([])
    expect(withCap.ops.get(withCap.digest as string)?.metadata.caps).toHaveProperty(['exec.meta.setsdefaultpath'], true)
    expect(env(exec.marshal({ ...amd64, caps: new Set(['exec.meta.base', 'exec.mount.bind', 'source.image']) }))).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ])
  })

  it('chains file actions into one FileOp with Go indexes, paths and owners', () => {
    const src = local('src', { uniqueId: 'u' }).dir('/app')
    const state = image('busybox').dir('/work').file(
      mkdir('out', { parents: true, owner: { user: 'app', group: 1 } })
        .mkfile('out/a.txt', 'a\n', { mode: 0o600 })
        .copy(src, 'lib/', 'out/lib/', { include: ['*.js'], createDestPath: true })
        .rm('/tmp/*', { allowWildcard: true, allowNotFound: true }),
      { customName: 'prepare' },
    )
    const definition = state.marshal(amd64)
    const fileOp = definition.ops.get(definition.digest as string)
    expect(fileOp?.name).toBe('prepare')
    expect(fileOp?.op.inputs?.map((input) => input.digest)).toEqual([IMAGE_DIGEST, src.marshal(amd64).digest])
    const actions = fileOp?.op.file?.actions ?? []
    expect(actions.map((action) => [action.input, action.secondaryInput, action.output])).toEqual([[0, -1, -1], [2, -1, -1], [3, 1, -1], [4, -1, 0]])
    expect(actions[0]?.mkdir).toEqual({ path: '/work/out', mode: 0o755, makeParents: true, owner: { user: { byName: { name: 'app', input: 0 } }, group: { byID: 1 } }, timestamp: -1 })
    expect(actions[1]?.mkfile?.path).toBe('/work/out/a.txt')
    expect(actions[2]?.copy).toMatchObject({ src: '/app/lib', dest: '/work/out/lib/', includePatterns: ['*.js'], createDestPath: true, mode: -1, timestamp: -1 })
    expect(actions[3]?.rm).toEqual({ path: '/tmp/*', allowNotFound: true, allowWildcard: true })
    expect(Object.keys(fileOp?.metadata.caps ?? {})).toEqual(['file.base', 'file.copy.includeexcludepatterns', 'file.rm.wildcard'])
    expect(fileOp?.metadata.description).toEqual({ 'llb.customname': 'prepare' })
    expect(definition.ops.get(definition.terminal as string)?.metadata.caps).toEqual({ constraints: true, 'meta.description': true, platform: true })
  })

  it('records per-op metadata: ignore cache and progress group', () => {
    const definition = image('busybox', { ignoreCache: true, progressGroup: { id: 'g', name: 'Group' } }).marshal(amd64)
    expect(definition.ops.get(IMAGE_DIGEST)?.metadata).toEqual({ ignoreCache: true, caps: { 'source.image': true }, progressGroup: { id: 'g', name: 'Group' } })
    expect(definition.ops.get(TERMINAL_DIGEST)?.metadata.caps).toHaveProperty(['meta.ignorecache'], true)
  })

  it('uses the State platform, then the image option, then marshal platform', () => {
    const arm = image('busybox', { platform: 'linux/arm/v7' }).run({ args: ['true'] })
    const definition = arm.marshal(amd64)
    expect(ops(definition).slice(0, 2).map((op) => op.platform)).toEqual([
      { Architecture: 'arm', OS: 'linux', Variant: 'v7' }, { Architecture: 'arm', OS: 'linux', Variant: 'v7' },
    ])
    const source = ops(local('x', { uniqueId: 'u' }).marshal(amd64))[0]
    expect(source?.platform).toBeUndefined()
  })

  it('marshals scratch to an empty Definition', () => {
    const definition = scratch().marshal()
    expect(definition.bytes.length).toBe(0)
    expect(definition.ops.size).toBe(0)
    expect(definition.digest).toBeUndefined()
  })

  it('merge drops scratch inputs and diff of scratch is the upper', () => {
    const a = image('busybox')
    expect(merge([scratch(), a, scratch()])).toBe(a)
    expect(merge([scratch()]).isScratch()).toBe(true)
    expect(diff(scratch(), a)).toBe(a)
    const m = ops(merge([a, scratch().file(mkfile('/f', 'x'))]).marshal(amd64)).at(-2)
    expect(m?.merge).toEqual({ inputs: [{ input: 0 }, { input: 1 }] })
    const d = ops(diff(a, a.run({ args: ['true'] }).root()).marshal(amd64)).at(-2)
    expect(d?.diff).toEqual({ lower: { input: 0 }, upper: { input: 1 } })
  })
})

describe('capabilities against an engine', () => {
  const busybox = image('busybox')

  it.each([
    ['tmpfs size', () => busybox.run({ args: ['true'], mounts: [{ type: 'tmpfs', dest: '/t', size: 1 << 20 }] }), 'exec.mount.tmpfs.size', 'true'],
    ['ulimits', () => busybox.run({ args: ['true'], ulimits: [{ name: 'nofile', soft: 1, hard: 2 }] }), 'exec.meta.ulimit', 'true'],
    ['secret env', () => busybox.run({ args: ['true'], secretEnv: [{ id: 's', name: 'TOKEN' }] }), 'exec.secretenv', 'true'],
    ['copy include', () => scratch().file(copy(busybox, '/etc', '/etc', { include: ['passwd'] })), 'file.copy.includeexcludepatterns', 'copy /etc /etc'],
    ['git subdir', () => git('https://github.com/moby/buildkit.git', 'v0.13.0', { subdir: 'docs' }), 'source.git.subdir', 'git://github.com/moby/buildkit.git#v0.13.0:docs'],
    ['local differ none', () => local('src', { differ: 'none', uniqueId: 'u' }), 'source.local.differ', 'local://src'],
    ['diff', () => diff(busybox, busybox.run({ args: ['true'] }).root()), 'diffop', 'diff'],
  ])('fails on BuildKit v0.8 before any request: %s', (_name, build, feature, op) => {
    const error = catchLlb(() => build().marshal({ ...amd64, ...DOCKERD_20_10 }), 'LLB_UNSUPPORTED_CAP')
    expect(error).toBeInstanceOf(LlbError)
    expect(error).toMatchObject({ feature, op, engine: 'dockerd 20.10 (BuildKit v0.8)' })
    expect(error.message).toContain(feature)
    expect(error.message).toContain('dockerd 20.10 (BuildKit v0.8)')
  })

  it('names the custom name of the op that needs the cap', () => {
    const error = catchLlb(() => busybox.run({ args: ['x'], customName: 'unit tests', validExitCodes: [0, 3] }).marshal(DOCKERD_26_1), 'LLB_UNSUPPORTED_CAP')
    expect(error).toMatchObject({ feature: 'exec.validexitcode', op: 'unit tests', engine: 'dockerd 26.1 (BuildKit v0.13)' })
  })

  it('the same features pass on dockerd 26.1 with their caps', () => {
    const definition = busybox.run({ args: ['true'], ulimits: [{ name: 'nofile', soft: 1, hard: 2 }], mounts: [{ type: 'tmpfs', dest: '/t', size: 4096 }] }).marshal({ ...amd64, ...DOCKERD_26_1 })
    expect(Object.keys(definition.ops.get(definition.digest as string)?.metadata.caps ?? {})).toEqual([
      'exec.meta.base', 'exec.meta.setsdefaultpath', 'exec.meta.ulimit', 'exec.mount.bind', 'exec.mount.tmpfs', 'exec.mount.tmpfs.size',
    ])
  })

  it('sends merge and diff without their disabled caps on dockerd 26.1', () => {
    const files = scratch().file(mkfile('/f', 'x'))
    for (const state of [merge([busybox, files]), diff(busybox, busybox.file(mkfile('/c.txt', 'c')))]) {
      const definition = state.marshal({ ...amd64, ...DOCKERD_26_1 })
      const op = definition.ops.get(definition.digest as string)
      expect(op?.op.merge ?? op?.op.diff).toBeDefined()
      expect(op?.metadata.caps).toBeUndefined()
    }
    const plain = merge([busybox, files]).marshal(amd64)
    expect(plain.ops.get(plain.digest as string)?.metadata.caps).toEqual({ mergeop: true })
  })

  it('lowers a merge of additive scratch file ops to copies on BuildKit v0.8', () => {
    const files = scratch().file(mkdir('/etc/app', { parents: true }).mkfile('/etc/app/config', 'x'))
    const more = scratch().file(mkfile('/b', 'b'))
    const definition = merge([busybox, files, more], { customName: 'layers' }).marshal({ ...amd64, ...DOCKERD_20_10 })
    const result = definition.ops.get(definition.digest as string)
    expect(result?.op.merge).toBeUndefined()
    expect(result?.name).toBe('layers')
    expect(result?.op.file?.actions?.map((action) => [action.input, action.secondaryInput, action.output, action.copy?.src, action.copy?.dest, action.copy?.dirCopyContents])).toEqual([
      [0, 1, -1, '/', '/', true], [3, 2, 0, '/', '/', true],
    ])
    expect(result?.metadata.caps).toEqual({ 'file.base': true })
  })

  it('refuses to lower a merge whose upper layer could delete or change types', () => {
    const error = catchLlb(() => merge([busybox, busybox.run({ args: ['rm', '-rf', '/etc'] }).root()]).marshal({ ...amd64, ...DOCKERD_20_10 }), 'LLB_UNSUPPORTED_CAP')
    expect(error).toMatchObject({ feature: 'mergeop', op: 'merge (2 inputs)' })
    expect(error.message).toMatch(/file op on scratch without rm/)
  })

  it('drops local.differ=metadata where the engine lacks the attribute (it is the default behaviour)', () => {
    const definition = local('src', { differ: 'metadata', uniqueId: 'u' }).marshal({ ...amd64, ...DOCKERD_20_10 })
    const op = ops(definition)[0]
    expect(op?.source?.attrs).toEqual({ 'local.unique': 'u' })
    const current = ops(local('src', { differ: 'metadata', uniqueId: 'u' }).marshal({ ...amd64, ...DOCKERD_26_1 }))[0]
    expect(current?.source?.attrs).toEqual({ 'local.differ': 'metadata', 'local.unique': 'u' })
  })

  it('explains a disabled cap with the engine reason (oci-layout on dockerd)', () => {
    const ref = `app@sha256:${'a'.repeat(64)}`
    const error = catchLlb(() => ociLayout(ref, { sessionId: 's' }).marshal(DOCKERD_26_1), 'LLB_UNSUPPORTED_CAP')
    expect(error.reason).toMatch(/no oci-layout scheme/)
    expect(error.message).toContain('has it disabled')
  })

  it('never attaches exec.meta.removemountstubs.recursive', () => {
    const definition = busybox.run({ args: ['true'] }).marshal(amd64)
    expect(definition.caps().has('exec.meta.removemountstubs.recursive')).toBe(false)
  })

  it('accepts a bare Set of caps', () => {
    const error = catchLlb(() => http('https://example.com/a.tgz').marshal({ caps: new Set(['source.image']), engine: 'test engine' }), 'LLB_UNSUPPORTED_CAP')
    expect(error).toMatchObject({ feature: 'source.http', op: 'https://example.com/a.tgz', engine: 'test engine' })
  })
})

describe('size limit', () => {
  it('fails with LLB_DEFINITION_TOO_LARGE over 4 MiB by default', () => {
    const big = scratch().file(mkfile('/blob', new Uint8Array(4 * 1024 * 1024)))
    const error = catchLlb(() => big.marshal(amd64), 'LLB_DEFINITION_TOO_LARGE')
    expect(error.limit).toBe(4 * 1024 * 1024)
    expect(error.size).toBeGreaterThan(4 * 1024 * 1024)
    expect(error.op).toBe('mkfile /blob')
    expect(error.message).toMatch(/4194304-byte message limit/)
  })

  it('honours a given limit', () => {
    const state = scratch().file(mkfile('/a', 'x'.repeat(200)))
    expect(() => state.marshal({ ...amd64, maxBytes: 100 })).toThrow(LlbError)
    expect(state.marshal({ ...amd64, maxBytes: 1000 }).bytes.length).toBeLessThan(1000)
  })
})

describe('dumpJson', () => {
  it('prints Go field names, oneof wrappers, null terminal Op, base64 bytes and HTML-safe strings', () => {
    const definition = scratch().file(mkfile('/a<b>', 'hi', { owner: { user: 0 } })).marshal(amd64)
    const lines = dumpJson(definition).trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(JSON.parse(lines[0] as string)).toEqual({
      Op: {
        Op: { file: { actions: [{ input: -1, secondaryInput: -1, Action: { mkfile: { path: '/a<b>', mode: 420, data: 'aGk=', owner: { user: { User: {} } }, timestamp: -1 } } }] } },
        platform: { Architecture: 'amd64', OS: 'linux' },
        constraints: {},
      },
      Digest: definition.digest,
      OpMetadata: { caps: { 'file.base': true } },
    })
    expect(lines[0]).toContain('"/a\\u003cb\\u003e"')
    expect(JSON.parse(lines[1] as string)).toEqual({ Op: { inputs: [{ digest: definition.digest }], Op: null }, Digest: definition.terminal, OpMetadata: { caps: { constraints: true, platform: true } } })
  })

  it('dumpDot draws the ops and labels mount edges', () => {
    const src = local('src', { uniqueId: 'u' })
    const dot = image('busybox').run({ args: ['ls'], mounts: [{ type: 'bind', dest: '/src', from: src }] }).marshal(amd64).dumpDot()
    expect(dot.split('\n')[0]).toBe('digraph {')
    expect(dot).toContain('[label="ls" shape="box"];')
    expect(dot).toContain('[label="local://src" shape="ellipse"];')
    expect(dot).toMatch(/-> "sha256:[0-9a-f]{64}" \[label="\/src"\];/)
  })
})
