/**
 * @kiln/llb on the real engine (KILN_ENGINE): every op kind and mount type is solved through @kiln/buildkit and its
 * effect is checked from exported files. Features the engine lacks must fail in marshal, before any request.
 */
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, type BuildkitClient, type Session } from '@kiln/buildkit'
import {
  copy, diff, engineProfile, http, image, isLlbError, local, merge, mkdir, mkfile, rm, scratch,
  type EngineProfile, type MarshalOptions, type State,
} from '@kiln/llb'

const ENGINE = process.env.KILN_ENGINE ?? 'docker:///run/kiln/current/docker.sock'
const work = mkdtempSync(join(tmpdir(), 'kiln-llb-e2e-'))
const busybox = image('busybox')

/** Relative paths under `dir` (directories end in `/`), sorted. */
function tree(dir: string, prefix = ''): string[] {
  const out: string[] = []
  for (const name of readdirSync(join(dir, prefix)).sort()) {
    const path = prefix ? `${prefix}/${name}` : name
    if (lstatSync(join(dir, path)).isDirectory()) out.push(`${path}/`, ...tree(dir, path))
    else out.push(path)
  }
  return out
}

describe(`@kiln/llb on ${ENGINE}`, () => {
  let client: BuildkitClient
  let profile: EngineProfile
  let session: Session
  let options: MarshalOptions
  const secret = `s3cr3t-${randomBytes(8).toString('hex')}`
  const src = join(work, 'src')

  beforeAll(async () => {
    mkdirSync(join(src, 'sub'), { recursive: true })
    writeFileSync(join(src, 'a.txt'), 'a\n')
    writeFileSync(join(src, 'b.log'), 'b\n')
    writeFileSync(join(src, 'sub', 'c.txt'), 'c\n')
    client = await connect({ address: ENGINE })
    const caps = await client.capabilities()
    profile = engineProfile(caps.llbCaps, caps.docker ? `dockerd ${caps.dockerVersion ?? ''}` : 'buildkitd', { docker: caps.docker })
    options = { ...profile, platform: 'linux/amd64' }
    session = await client.createSession({ dirs: { src }, secrets: { token: { value: secret } }, ssh: false })
  })
  afterAll(async () => {
    await session?.close()
    client?.close()
    rmSync(work, { recursive: true, force: true })
  })

  const has = (cap: string) => profile.caps.enabled.has(cap)

  /** Marshals with the engine's caps, solves, exports locally, returns the export dir. */
  async function solve(state: State, name: string, extra: { session?: Session } = {}): Promise<string> {
    const dest = join(work, name)
    await client.solve({ definition: state.marshal(options), session: extra.session ?? session, exports: [{ type: 'local', dest }] })
    return dest
  }

  it('local source with include and exclude patterns exports exactly the matching tree', async () => {
    const dest = await solve(local('src', { include: ['**/*.txt'], exclude: ['sub'] }), 'local-patterns')
    expect(tree(dest)).toEqual(['a.txt'])
    expect(tree(await solve(local('src'), 'local-all'))).toEqual(['a.txt', 'b.log', 'sub/', 'sub/c.txt'])
  })

  it('exec with a read-only bind of a local source and a writable output mount', async () => {
    const exec = busybox.run({
      shell: 'cp -r /src/. /out/ && if touch /src/x 2>/dev/null; then echo rw; else echo ro; fi > /out/mode && echo "$HOME:$(pwd):$GREETING" > /out/env',
      env: { GREETING: 'hi' },
      cwd: '/tmp',
      network: 'none',
      mounts: [
        { type: 'bind', dest: '/src', from: local('src'), readonly: true },
        { type: 'bind', dest: '/out', from: scratch() },
      ],
    })
    const dest = await solve(exec.getMount('/out'), 'exec-binds')
    expect(tree(dest)).toEqual(['a.txt', 'b.log', 'env', 'mode', 'sub/', 'sub/c.txt'])
    expect(readFileSync(join(dest, 'mode'), 'utf8')).toBe('ro\n')
    expect(readFileSync(join(dest, 'env'), 'utf8')).toBe('/root:/tmp:hi\n')
  })

  it('a bind mount with a selector sees only the sub-path', async () => {
    const exec = busybox.run({ shell: 'ls /sel > /out/ls', network: 'none', mounts: [{ type: 'bind', dest: '/sel', from: local('src'), selector: 'sub', readonly: true }, { type: 'bind', dest: '/out' }] })
    expect(readFileSync(join(await solve(exec.getMount('/out'), 'selector'), 'ls'), 'utf8')).toBe('c.txt\n')
  })

  it('file ops: mkdir, mkfile with modes, rm, copy with include patterns (or a clear error without the cap)', async () => {
    const tree1 = scratch().file(
      mkdir('/out/d', { parents: true, mode: 0o750 })
        .mkfile('/out/d/run.sh', '#!/bin/sh\necho ok\n', { mode: 0o755 })
        .mkfile('/out/gone', 'x')
        .rm('/out/gone')
        .copy(local('src'), '/', '/out/copied', { createDestPath: true, dirContentsOnly: true }),
    )
    const dest = await solve(tree1, 'file-ops')
    expect(tree(dest)).toEqual(['out/', 'out/copied/', 'out/copied/a.txt', 'out/copied/b.log', 'out/copied/sub/', 'out/copied/sub/c.txt', 'out/d/', 'out/d/run.sh'])
    expect(statSync(join(dest, 'out/d')).mode & 0o777).toBe(0o750)
    expect(statSync(join(dest, 'out/d/run.sh')).mode & 0o777).toBe(0o755)
    expect(readFileSync(join(dest, 'out/d/run.sh'), 'utf8')).toBe('#!/bin/sh\necho ok\n')

    const filtered = scratch().file(copy(local('src'), '/', '/', { include: ['**/*.txt'], dirContentsOnly: true }))
    if (has('file.copy.includeexcludepatterns')) {
      expect(tree(await solve(filtered, 'copy-include'))).toEqual(['a.txt', 'sub/', 'sub/c.txt'])
    } else {
      expect(() => filtered.marshal(options)).toThrow(expect.objectContaining({ code: 'LLB_UNSUPPORTED_CAP', feature: 'file.copy.includeexcludepatterns', engine: profile.engine }))
    }
  })

  it('a cache mount survives between two solves', async () => {
    const id = `kiln-llb-e2e-${randomBytes(6).toString('hex')}`
    const token = randomBytes(8).toString('hex')
    const write = busybox.run({ shell: `echo ${token} > /cache/token`, network: 'none', mounts: [{ type: 'cache', dest: '/cache', id, sharing: 'locked' }] })
    await client.solve({ definition: write.marshal(options), session })
    // The token in the env keeps this exec out of the engine's cache (an identical one from an earlier run would hit).
    const read = busybox.run({ shell: 'cp /cache/token /out/token', env: { RUN: token }, network: 'none', mounts: [{ type: 'cache', dest: '/cache', id, sharing: 'shared' }, { type: 'bind', dest: '/out' }] })
    expect(readFileSync(join(await solve(read.getMount('/out'), 'cache'), 'token'), 'utf8')).toBe(`${token}\n`)
  })

  it('a tmpfs mount is a tmpfs (with its size where the engine supports it) and leaves nothing behind', async () => {
    const sized = has('exec.mount.tmpfs.size')
    const exec = busybox.run({
      shell: 'grep " /t " /proc/mounts > /out/mount; echo x > /t/x',
      network: 'none',
      mounts: [{ type: 'tmpfs', dest: '/t', ...(sized ? { size: 1 << 20 } : {}) }, { type: 'bind', dest: '/out' }],
    })
    const mount = readFileSync(join(await solve(exec.getMount('/out'), 'tmpfs'), 'mount'), 'utf8')
    expect(mount).toMatch(/^tmpfs \/t tmpfs /)
    if (sized) expect(mount).toContain('size=1024k')
    else expect(() => busybox.run({ args: ['true'], mounts: [{ type: 'tmpfs', dest: '/t', size: 1 }] }).marshal(options)).toThrow(expect.objectContaining({ code: 'LLB_UNSUPPORTED_CAP', feature: 'exec.mount.tmpfs.size' }))
  })

  it('a secret mount is readable in the exec and absent from the exported result', async () => {
    const expected = createHash('sha256').update(secret).digest('hex')
    // Secret values are not part of the cache key: a per-run nonce keeps an earlier run's result from being reused.
    const exec = busybox.run({
      shell: 'sha256sum /run/secrets/token | cut -d" " -f1 > /hash; stat -c %a /run/secrets/token > /mode',
      env: { NONCE: randomBytes(8).toString('hex') },
      network: 'none',
      mounts: [{ type: 'secret', id: 'token', mode: 0o400 }],
    })
    const dest = await solve(exec.root(), 'secret')
    expect(readFileSync(join(dest, 'hash'), 'utf8')).toBe(`${expected}\n`)
    expect(readFileSync(join(dest, 'mode'), 'utf8')).toBe('400\n')
    const files = tree(dest).filter((path) => !path.endsWith('/') && lstatSync(join(dest, path)).isFile())
    for (const path of files) expect(readFileSync(join(dest, path)).includes(secret), path).toBe(false)
    expect(files.some((path) => path.startsWith('run/secrets/token') && readFileSync(join(dest, path)).length > 0)).toBe(false)
  })

  it('an ssh mount forwards the session agent socket and sets SSH_AUTH_SOCK', async () => {
    const socket = join(work, 'agent.sock')
    const started = execFileSync('ssh-agent', ['-s', '-a', socket], { encoding: 'utf8' })
    const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(started)?.[1])
    const sshSession = await client.createSession({ ssh: { default: socket } })
    try {
      const exec = busybox.run({ shell: 'test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" > /out/sock', network: 'none', mounts: [{ type: 'ssh' }, { type: 'bind', dest: '/out' }] })
      const dest = await solve(exec.getMount('/out'), 'ssh', { session: sshSession })
      expect(readFileSync(join(dest, 'sock'), 'utf8')).toBe('/run/buildkit/ssh_agent.0\n')
    } finally {
      await sshSession.close()
      if (pid) process.kill(pid)
    }
  })

  it('merge layers its inputs (natively, without the disabled cap, or lowered to copies on BuildKit 0.8)', async () => {
    const a = scratch().file(mkdir('/etc').mkfile('/etc/a', 'a'))
    const b = scratch().file(mkfile('/b', 'b'))
    const over = scratch().file(mkdir('/etc').mkfile('/etc/a', 'A'))
    expect(tree(await solve(merge([a, b, over]), 'merge'))).toEqual(['b', 'etc/', 'etc/a'])
    expect(readFileSync(join(work, 'merge', 'etc/a'), 'utf8')).toBe('A')
  })

  it('diff keeps only what the upper layer added (or fails before any request where diffop is missing)', async () => {
    const lower = scratch().file(mkfile('/a', 'a'))
    const upper = lower.file(mkfile('/c.txt', 'c'))
    const state = diff(lower, upper)
    if (has('diffop') || profile.caps.disabled?.has('diffop')) {
      expect(tree(await solve(state, 'diff'))).toEqual(['c.txt'])
    } else {
      let error: unknown
      try {
        state.marshal(options)
      } catch (caught) {
        error = caught
      }
      expect(isLlbError(error, 'LLB_UNSUPPORTED_CAP')).toBe(true)
      expect(error).toMatchObject({ feature: 'diffop', op: 'diff', engine: profile.engine })
    }
  })

  describe('http source', () => {
    let server: Server
    let url = ''
    const body = `payload ${randomBytes(4).toString('hex')}\n`
    beforeAll(async () => {
      server = createServer((_request, response) => response.end(body))
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const address = server.address()
      url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/file`
    })
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

    it('downloads with checksum, file name and permissions', async () => {
      const checksum = `sha256:${createHash('sha256').update(body).digest('hex')}`
      const dest = await solve(http(url, { checksum, filename: 'dl.txt', perm: 0o640 }), 'http')
      expect(tree(dest)).toEqual(['dl.txt'])
      expect(readFileSync(join(dest, 'dl.txt'), 'utf8')).toBe(body)
      expect(statSync(join(dest, 'dl.txt')).mode & 0o777).toBe(0o640)
    })
  })

  it('an op the engine cannot run fails in marshal with the feature, the op and the engine', () => {
    const state = busybox.run({ args: ['true'], customName: 'exit codes', validExitCodes: [0, 3] })
    expect(() => state.marshal(options)).toThrow(expect.objectContaining({ code: 'LLB_UNSUPPORTED_CAP', feature: 'exec.validexitcode', op: 'exit codes', engine: profile.engine }))
  })

  it('rm and the root filesystem of an exec', async () => {
    const state = busybox.file(rm('/etc/*', { allowWildcard: true })).run({ shell: 'ls -A /etc > /listing', network: 'none' }).root()
    const dest = await solve(state, 'rm-root')
    expect(readFileSync(join(dest, 'listing'), 'utf8').split('\n').filter(Boolean).every((name) => ['hosts', 'hostname', 'resolv.conf', 'mtab'].includes(name))).toBe(true)
  })
})
