import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BuildkitClient, SolveEvent } from '../src/index.js'
import { connect, isBuildkitError } from '../src/index.js'
import { ENGINE } from './helpers/engine.js'
import * as llb from './helpers/llb.js'

function runningWith(marker: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
  return out.split('\n').filter((line) => line.includes(marker) && !line.includes('ps -eo'))
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (condition()) return true
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return condition()
}

describe(`solves on ${ENGINE}`, () => {
  let client: BuildkitClient
  let work: string

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'kiln-solve-'))
    client = await connect({ address: ENGINE })
  })
  afterAll(async () => {
    client?.close()
    await rm(work, { recursive: true, force: true })
  })

  it('reports workers, caps, exporters and versions', async () => {
    const caps = await client.capabilities()
    expect(caps.workers.length).toBeGreaterThan(0)
    expect(caps.platforms.some((platform) => platform.os === 'linux' && platform.architecture === 'amd64')).toBe(true)
    expect(caps.hasCap('source.local')).toBe(true)
    expect(caps.frontendCaps.some((cap) => cap.id === 'readfile' && cap.enabled)).toBe(true)
    expect(caps.docker).toBe(true)
    expect(caps.dockerVersion).toMatch(/^\d+\.\d+/)
    expect(caps.exporters.moby).toBe(true)
    expect(caps.exporters.local).toBe(true)
    expect(typeof caps.exporters.oci).toBe('string')
    if (caps.dockerVersion?.startsWith('20.')) {
      expect(caps.info).toBeUndefined()
      expect(caps.hasCap('exporter.multiple')).toBe(false)
    } else {
      expect(caps.info?.package).toBe('github.com/moby/buildkit')
      expect(caps.llbCaps.find((cap) => cap.id === 'mergeop')?.enabled).toBe(false)
    }
  })

  it('runs an exec and streams its vertices, statuses and logs', async () => {
    // A fresh token keeps the exec out of the cache, so it runs and logs.
    const { ops, result } = llb.busyboxScript(`echo hello-from-exec ${Math.random()}; echo out > /out/result.txt`)
    const events: SolveEvent[] = []
    const dest = join(work, 'exec-out')
    await client.solve({ definition: llb.definition(ops, result, 1), exports: [{ type: 'local', dest }], onEvent: (event) => events.push(event) })
    expect(await readFile(join(dest, 'result.txt'), 'utf8')).toBe('out\n')
    const vertex = events.find((event) => event.type === 'vertex' && event.digest === result.digest)
    expect(vertex).toBeDefined()
    expect(events.some((event) => event.type === 'vertex' && event.digest === result.digest && event.completed !== undefined)).toBe(true)
    const logs = events.filter((event) => event.type === 'log').map((event) => Buffer.from(event.data).toString())
    expect(logs.join('')).toContain('hello-from-exec')
  })

  it('refuses a dangling input digest before sending anything', async () => {
    const base = llb.image()
    const run = llb.exec([{ digest: base.digest }], ['/bin/true'], [{ input: 0, dest: '/', output: 0 }])
    // The image op is left out: run's input names nothing in the definition.
    const bytes = llb.definition([run], run)
    await expect(client.solve({ definition: bytes })).rejects.toMatchObject({ code: 'BUILDKIT_INVALID_DEFINITION' })
    // The engine is still there.
    expect((await client.listWorkers()).length).toBeGreaterThan(0)
  })

  it('passes secrets to the exec without leaking them, and fails clearly on a missing one', async () => {
    const secret = `s3cr3t-${Math.random().toString(36).slice(2)}`
    const session = await client.createSession({ secrets: { token: { value: secret } } })
    try {
      const digest = createHash('sha256').update(secret).digest('hex')
      const base = llb.image()
      // The script gets the secret's hash (not the secret) to compare with, and writes the hash it computed.
      const withEnv = llb.exec([{ digest: base.digest }], ['/bin/sh', '-c', 'test "$(sha256sum /run/secrets/token | cut -d" " -f1)" = "$EXPECTED" && sha256sum /run/secrets/token | cut -d" " -f1 > /out/hash && echo checked'], [
        { input: 0, dest: '/', output: 0 },
        { input: -1, dest: '/out', output: 1 },
        { input: -1, dest: '/run/secrets/token', output: -1, type: 'secret', secret: { id: 'token' } },
      ], { env: ['PATH=/bin', `EXPECTED=${digest}`] })
      const events: SolveEvent[] = []
      const dest = join(work, 'secret-out')
      await client.solve({ definition: llb.definition([base, withEnv], withEnv, 1), session, exports: [{ type: 'local', dest }], onEvent: (event) => events.push(event) })
      const hash = (await readFile(join(dest, 'hash'), 'utf8')).trim()
      expect(hash).toBe(digest)
      for (const name of await readdir(dest)) expect(await readFile(join(dest, name), 'utf8')).not.toContain(secret)
      expect(JSON.stringify(events, (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString() : value))).not.toContain(secret)

      const missing = llb.busyboxScript('cat /run/secrets/nope > /out/x', [{ input: -1, dest: '/run/secrets/nope', output: -1, type: 'secret', secret: { id: 'nope' } }])
      const error = await client.solve({ definition: llb.definition(missing.ops, missing.result, 1), session }).catch((caught: unknown) => caught)
      expect(isBuildkitError(error, 'BUILDKIT_SOLVE_FAILED')).toBe(true)
      expect((error as Error).message).toMatch(/secret nope:? not found/)
    } finally {
      await session.close()
    }
  })

  it('runs concurrent solves on one session and one connection', async () => {
    const dirs: Record<string, string> = {}
    for (let index = 0; index < 4; index++) {
      const dir = join(work, `concurrent-${index}`)
      await (await import('node:fs/promises')).mkdir(dir, { recursive: true })
      await writeFile(join(dir, 'value.txt'), `value-${index}\n`)
      dirs[`ctx${index}`] = dir
    }
    const session = await client.createSession({ dirs })
    try {
      const base = llb.image()
      const solves = Object.keys(dirs).map((name, index) => {
        const local = llb.local(name)
        const run = llb.exec([{ digest: base.digest }, { digest: local.digest }], ['/bin/sh', '-c', `grep -qx value-${index} /ctx/value.txt && sleep 1 && cp /ctx/value.txt /out/`], [
          { input: 0, dest: '/', output: 0 },
          { input: 1, dest: '/ctx', output: -1, readonly: true },
          { input: -1, dest: '/out', output: 1 },
        ])
        // Two of them export to a directory; the session's export slot is taken by one, the other gets a sibling.
        const exports = index < 2 ? [{ type: 'local' as const, dest: join(work, `concurrent-out-${index}`) }] : []
        return client.solve({ definition: llb.definition([base, local, run], run, 1), session, exports })
      })
      const results = await Promise.all(solves)
      expect(new Set(results.map((result) => result.ref)).size).toBe(4)
      expect(await readFile(join(work, 'concurrent-out-0', 'value.txt'), 'utf8')).toBe('value-0\n')
      expect(await readFile(join(work, 'concurrent-out-1', 'value.txt'), 'utf8')).toBe('value-1\n')
    } finally {
      await session.close()
    }
  })

  it('cancels a running solve with an AbortSignal and leaves no process running', async () => {
    const marker = `kiln-cancel-${Math.random().toString(36).slice(2)}`
    const { ops, result } = llb.busyboxScript(`sleep 300; echo ${marker}`)
    const controller = new AbortController()
    const started = Date.now()
    let seenRunning = false
    const solve = client.solve({ definition: llb.definition(ops, result, 1), signal: controller.signal })
    // Cancel once the container's process is really running.
    seenRunning = await waitFor(() => runningWith(marker).length > 0, 60_000)
    controller.abort()
    const error = await solve.catch((caught: unknown) => caught)
    expect(seenRunning).toBe(true)
    expect(isBuildkitError(error, 'BUILDKIT_CANCELLED')).toBe(true)
    expect(Date.now() - started).toBeLessThan(60_000)
    expect(await waitFor(() => runningWith(marker).length === 0, 20_000)).toBe(true)
  })

  it('fails fast with a clear error when the engine connection dies mid-solve', async () => {
    // A proxy in front of the engine stands in for the engine dying: it is the proxy that is killed, never the engine.
    const proxyPath = join(work, 'proxy.sock')
    const target = ENGINE.replace(/^docker:\/\//, '')
    const sockets = new Set<net.Socket>()
    const proxy = net.createServer((downstream) => {
      const upstream = net.connect(target)
      sockets.add(downstream).add(upstream)
      downstream.pipe(upstream).pipe(downstream)
      downstream.on('error', () => upstream.destroy())
      upstream.on('error', () => downstream.destroy())
    })
    await new Promise<void>((resolve) => proxy.listen(proxyPath, resolve))
    const viaProxy = await connect({ address: `docker://${proxyPath}` })
    const marker = `kiln-dies-${Math.random().toString(36).slice(2)}`
    const { ops, result } = llb.busyboxScript(`sleep 120; echo ${marker}`)
    let killedAt = 0
    const solve = viaProxy.solve({ definition: llb.definition(ops, result, 1) }).catch((caught: unknown) => caught)
    expect(await waitFor(() => runningWith(marker).length > 0, 60_000)).toBe(true)
    killedAt = Date.now()
    for (const socket of sockets) socket.destroy()
    proxy.close()
    const error = await solve
    expect(killedAt).toBeGreaterThan(0)
    expect(Date.now() - killedAt).toBeLessThan(5_000)
    expect(isBuildkitError(error)).toBe(true)
    expect(['BUILDKIT_CONNECTION_LOST', 'BUILDKIT_SESSION']).toContain((error as { code: string }).code)
    expect((error as Error).message).toContain(proxyPath)
    expect(viaProxy.closed).toBe(true)
    // The engine noticed the dropped client and stopped the build.
    expect(await waitFor(() => runningWith(marker).length === 0, 30_000)).toBe(true)
  })

  it('names the address and what to do when the engine is unreachable', async () => {
    const error = await connect({ address: `docker://${join(work, 'nothing-here.sock')}` }).catch((caught: unknown) => caught)
    expect(isBuildkitError(error, 'BUILDKIT_UNAVAILABLE')).toBe(true)
    expect((error as Error).message).toContain(join(work, 'nothing-here.sock'))
    expect((error as Error).message).toContain('scripts/engine.sh start')
  })

  it('refuses an exporter the engine lacks before solving', async () => {
    const { ops, result } = llb.busyboxScript('echo x > /out/x')
    const error = await client.solve({ definition: llb.definition(ops, result, 1), exports: [{ type: 'oci', dest: join(work, 'x.tar') }] }).catch((caught: unknown) => caught)
    expect(isBuildkitError(error, 'BUILDKIT_UNSUPPORTED')).toBe(true)
    expect((error as Error).message).toMatch(/"oci"/)
  })
})
