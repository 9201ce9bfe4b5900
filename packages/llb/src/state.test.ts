import { describe, expect, it } from 'vitest'
import { type State, addEnv, dir, git, http, image, isState, local, normalizeImageRef, ociLayout, scratch, user, isLlbError, type PbOp } from './index.js'

const amd64 = { platform: 'linux/amd64' } as const
const sourceOf = (state: State): PbOp['source'] => [...state.marshal(amd64).ops.values()][0]?.op.source

describe('State values', () => {
  it('are immutable: every call returns a new State and leaves the old one alone', () => {
    const base = image('busybox')
    const next = base.withEnv('A', '1').dir('/src').user('app')
    expect(base.env()).toEqual([])
    expect(base.getDir()).toBe('/')
    expect(base.getUser()).toBeUndefined()
    expect(next.env()).toEqual(['A=1'])
    expect(Object.isFrozen((next as unknown as { data: object }).data)).toBe(true)
  })

  it('applies StateOptions in order with with()', () => {
    const state = scratch().with(addEnv('A', '1'), dir('/a'), dir('b/../c'), user('1000:1000'), addEnv('A', '2'))
    expect(state.env()).toEqual(['A=2'])
    expect(state.getDir()).toBe('/a/c')
    expect(state.getUser()).toBe('1000:1000')
    expect(state.withoutEnv('A').env()).toEqual([])
  })

  it('isState uses the Symbol.for brand, so a State from another copy of the package passes', () => {
    expect(isState(image('busybox'))).toBe(true)
    expect(isState({ [Symbol.for('kiln.llb.state')]: true })).toBe(true)
    expect(isState({})).toBe(false)
    expect(isState(null)).toBe(false)
  })

  it('seeds env, dir and user from an image config', () => {
    const state = image('node:20', { config: { Env: ['PATH=/usr/bin', 'NODE_VERSION=20'], WorkingDir: '/app', User: 'node', Cmd: ['node'] } })
    expect(state.env()).toEqual(['PATH=/usr/bin', 'NODE_VERSION=20'])
    expect(state.getDir()).toBe('/app')
    expect(state.getUser()).toBe('node')
    expect(state.imageConfig()?.Cmd).toEqual(['node'])
  })

  it('rejects bad arguments with LLB_INVALID_ARGUMENT', () => {
    for (const bad of [() => image('Busybox'), () => scratch().withEnv('A=B', '1'), () => scratch().run({ args: [] }), () => http('ftp://x'), () => git('nope')]) {
      expect(bad).toThrow(expect.objectContaining({ code: 'LLB_INVALID_ARGUMENT' }))
      try { bad() } catch (error) { expect(isLlbError(error)).toBe(true) }
    }
  })
})

describe('image references are normalized like Docker', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['user/app', 'docker.io/user/app:latest'],
    ['index.docker.io/library/alpine:3', 'docker.io/library/alpine:3'],
    ['127.0.0.1:5000/app', '127.0.0.1:5000/app:latest'],
    ['localhost/app:dev', 'localhost/app:dev'],
    ['ghcr.io/o/r/app:1@sha256:' + 'a'.repeat(64), 'ghcr.io/o/r/app:1@sha256:' + 'a'.repeat(64)],
    ['alpine@sha256:' + 'b'.repeat(64), 'docker.io/library/alpine@sha256:' + 'b'.repeat(64)],
  ])('%s → %s', (ref, normalized) => {
    expect(normalizeImageRef(ref).normalized).toBe(normalized)
    expect(sourceOf(image(ref))?.identifier).toBe(`docker-image://${normalized}`)
  })

  it('sets resolve mode, record type and layer limit attrs and caps', () => {
    const definition = image('busybox', { resolveMode: 'pull', recordType: 'internal', layerLimit: 2 }).marshal(amd64)
    const [op] = definition.ops.values()
    expect(op?.op.source?.attrs).toEqual({ 'image.layerlimit': '2', 'image.recordtype': 'internal', 'image.resolvemode': 'pull' })
    expect(op?.metadata.caps).toEqual({ 'source.image': true, 'source.image.layerlimit': true, 'source.image.resolvemode': true })
  })
})

describe('other sources', () => {
  it('local: patterns as Go JSON, follow paths, shared key hint, session binding', () => {
    const state = local('context', { include: ['src/**', 'a&b'], exclude: ['*.log'], followPaths: ['Dockerfile'], sharedKeyHint: 'ctx', sessionId: 'sess' })
    const definition = state.marshal(amd64)
    const [op] = definition.ops.values()
    expect(op?.op.source).toEqual({
      identifier: 'local://context',
      attrs: {
        'local.excludepatterns': '["*.log"]', 'local.followpaths': '["Dockerfile"]', 'local.includepattern': '["src/**","a\\u0026b"]',
        'local.session': 'sess', 'local.sharedkeyhint': 'ctx',
      },
    })
    expect(Object.keys(op?.metadata.caps ?? {}).sort()).toEqual([
      'source.local', 'source.local.excludepatterns', 'source.local.followpaths', 'source.local.includepatterns', 'source.local.sessionid', 'source.local.sharedkeyhint',
    ])
  })

  it('local: one unique id per process by default, so digests are stable within a process', () => {
    const a = local('src').marshal(amd64).digest
    expect(local('src').marshal(amd64).digest).toBe(a)
    expect(local('src').marshal({ ...amd64, localUniqueId: 'other' }).digest).not.toBe(a)
  })

  it('git: ids drop scheme and user; auth and ssh attrs like Go', () => {
    expect(sourceOf(git('https://github.com/moby/buildkit.git', 'v0.13.0'))).toEqual({
      identifier: 'git://github.com/moby/buildkit.git#v0.13.0',
      attrs: { 'git.authheadersecret': 'GIT_AUTH_HEADER', 'git.authtokensecret': 'GIT_AUTH_TOKEN', 'git.fullurl': 'https://github.com/moby/buildkit.git' },
    })
    const ssh = git('git@github.com:moby/buildkit.git', 'main', { keepGitDir: true, knownSshHosts: 'github.com ssh-ed25519 AAAA', authTokenSecret: 'TOKEN' })
    const definition = ssh.marshal(amd64)
    const [op] = definition.ops.values()
    expect(op?.op.source?.identifier).toBe('git://github.com/moby/buildkit.git#main')
    expect(op?.op.source?.attrs).toMatchObject({ 'git.keepgitdir': 'true', 'git.mountsshsock': 'default', 'git.authtokensecret': 'TOKEN', 'git.knownsshhosts': 'github.com ssh-ed25519 AAAA' })
    expect(Object.keys(op?.metadata.caps ?? {})).toEqual([
      'source.git', 'source.git.fullurl', 'source.git.httpauth', 'source.git.keepgitdir', 'source.git.knownsshhosts', 'source.git.mountsshsock',
    ])
    expect(sourceOf(git('github.com/a/b', '', { subdir: 'docs' }))?.identifier).toBe('git://github.com/a/b#:docs')
  })

  it('http: checksum, filename, octal perm, uid/gid with the misspelled cap', () => {
    const definition = http('https://example.com/x.tar.gz', { checksum: `sha256:${'c'.repeat(64)}`, filename: 'x.tgz', perm: 0o755, uid: 1, gid: 2 }).marshal(amd64)
    const [op] = definition.ops.values()
    expect(op?.op.source?.attrs).toEqual({ 'http.checksum': `sha256:${'c'.repeat(64)}`, 'http.filename': 'x.tgz', 'http.gid': '2', 'http.perm': '0755', 'http.uid': '1' })
    expect(op?.metadata.caps).toEqual({ 'source.http': true, 'source.http.checksum': true, 'source.http.perm': true, 'soruce.http.uidgid': true })
    expect(op?.op.platform).toBeUndefined()
  })

  it('ociLayout: digest required, session and store attrs, platform set', () => {
    const ref = `127.0.0.1:5000/app@sha256:${'d'.repeat(64)}`
    const definition = ociLayout(ref, { sessionId: 's1' }).marshal(amd64)
    const [op] = definition.ops.values()
    expect(op?.op.source).toEqual({ identifier: `oci-layout://${ref}`, attrs: { 'oci.session': 's1', 'oci.store': '127.0.0.1:5000/app' } })
    expect(op?.op.platform).toEqual({ Architecture: 'amd64', OS: 'linux' })
    expect(() => ociLayout('app:1')).toThrow(/with a digest/)
  })
})
