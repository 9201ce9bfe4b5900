import http from 'node:http'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BuildkitClient } from '../src/index.js'
import { connect, GoMode } from '../src/index.js'
import { ENGINE } from './helpers/engine.js'
import * as llb from './helpers/llb.js'

function dockerApi(path: string): Promise<{ status: number; body: unknown }> {
  const socketPath = ENGINE.replace(/^docker:\/\//, '')
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath, path, headers: { host: 'docker' } }, (response) => {
        let text = ''
        response.on('data', (chunk: Buffer) => (text += chunk.toString()))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text ? (JSON.parse(text) as unknown) : undefined }))
      })
      .on('error', reject)
  })
}

describe(`gateway and exporters on ${ENGINE}`, () => {
  let client: BuildkitClient
  let work: string

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'kiln-gateway-'))
    client = await connect({ address: ENGINE })
  })
  afterAll(async () => {
    client?.close()
    await rm(work, { recursive: true, force: true })
  })

  it('solves inside a build, reads files of the result and exports a moby image with its config', async () => {
    const name = `kiln-gateway-test:${Math.random().toString(36).slice(2, 8)}`
    const { ops, result } = llb.busyboxScript('echo from-gateway > /gw.txt', [], {})
    const result0 = await client.build({ exports: [{ type: 'moby', name }] }, async (gateway) => {
      const ref = await gateway.solve({ definition: llb.definition(ops, result, 0), evaluate: true })
      expect(Buffer.from(await gateway.readFile(ref, '/gw.txt')).toString()).toBe('from-gateway\n')
      const stat = await gateway.statFile(ref, '/gw.txt')
      expect(stat.size).toBe('from-gateway\n'.length)
      expect(stat.mode & GoMode.Dir).toBe(0)
      const entries = await gateway.readDir(ref, '/', 'gw*')
      expect(entries.map((entry) => entry.path)).toEqual(['gw.txt'])
      const image = await gateway.resolveImageConfig('docker.io/library/busybox:latest')
      expect((image.config as { architecture?: string }).architecture).toBe('amd64')
      return { ref, imageConfig: { architecture: 'amd64', os: 'linux', config: { Env: ['KILN_GATEWAY=yes', 'PATH=/bin'], Cmd: ['/bin/sh'], Labels: { 'org.kiln.test': 'gateway' } }, rootfs: { type: 'layers', diff_ids: [] } } }
    })
    expect(result0.exporterResponse['containerimage.digest']).toMatch(/^sha256:/)
    const inspect = await dockerApi(`/images/${encodeURIComponent(name)}/json`)
    expect(inspect.status).toBe(200)
    const config = (inspect.body as { Config: { Env: string[]; Labels: Record<string, string> } }).Config
    expect(config.Env).toContain('KILN_GATEWAY=yes')
    expect(config.Labels['org.kiln.test']).toBe('gateway')
  })

  it('builds a Dockerfile with the dockerfile.v0 frontend into a tarball', async () => {
    const context = join(work, 'context')
    await mkdir(context, { recursive: true })
    await writeFile(join(context, 'Dockerfile'), 'FROM busybox:latest\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt > /copied.txt\n')
    await writeFile(join(context, 'hello.txt'), 'hello from the context\n')
    await writeFile(join(context, 'ignored.txt'), 'ignored\n')
    await writeFile(join(context, '.dockerignore'), 'ignored.txt\n')
    const session = await client.createSession({ dirs: { context, dockerfile: context } })
    try {
      const dest = join(work, 'image.tar')
      await client.solve({ frontend: 'dockerfile.v0', frontendAttrs: { filename: 'Dockerfile', 'force-network-mode': 'none' }, session, exports: [{ type: 'tar', dest }] })
      const tar = await readFile(dest)
      expect(tar.includes(Buffer.from('hello from the context'))).toBe(true)
      expect(tar.includes(Buffer.from('copied.txt'))).toBe(true)
      expect(tar.includes(Buffer.from('ignored.txt'))).toBe(false)
    } finally {
      await session.close()
    }
  })

  it('lists disk usage records', async () => {
    const records = await client.diskUsage()
    expect(Array.isArray(records)).toBe(true)
    expect(records.length).toBeGreaterThan(0)
  })
})
