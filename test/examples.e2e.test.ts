import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { kiln, repoRoot, summary } from './support/kiln.ts'

// Every example runs on the real engine through the built `kiln`, from a copy so the checkout stays clean.
const work = mkdtempSync(join(tmpdir(), 'kiln-examples-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

function copyExample(name: string): string {
  const dir = join(work, name)
  cpSync(join(repoRoot, 'examples', name), dir, { recursive: true, filter: (path) => !/\/(node_modules|out|dist)$/.test(path) })
  return dir
}

describe('examples/hello', () => {
  const dir = copyExample('hello')

  it('runs and exports ./out', async () => {
    const result = await kiln(['-C', dir, 'run', '--progress', 'json'])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(summary(result.stdout)).toEqual({ greet: expect.stringMatching(/^(ok|cached)$/), save: 'ok' })
    expect(readFileSync(join(dir, 'out/hello.txt'), 'utf8')).toBe('hello from kiln\nLinux\n')
  })

  it('is served from the cache the second time', async () => {
    const result = await kiln(['-C', dir, 'run', '--progress', 'json'])
    expect(result.code).toBe(0)
    expect(summary(result.stdout).greet).toBe('cached')
  })
})

describe('examples/c-app', () => {
  const dir = copyExample('c-app')

  it('builds, tests three shards in parallel, packages and exports', async () => {
    const result = await kiln(['-C', dir, 'run', '--progress', 'json', '--set', 'version=1.2.3'])
    expect(result.code, result.stderr).toBe(0)
    const statuses = summary(result.stdout)
    expect(Object.keys(statuses).sort()).toEqual(['build', 'dist', 'package', 'src', 'test-1', 'test-2', 'test-3'])
    expect(Object.values(statuses).every((status) => status === 'ok' || status === 'cached')).toBe(true)
    // Every shard ran, and the package step started only once all of them were done (its `after:` edges).
    const events = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type: string; nodeId?: string; time: number })
    const times = (type: string, pattern: RegExp) => events.filter((event) => event.type === type && pattern.test(event.nodeId ?? '')).map((event) => event.time)
    expect(times('node.done', /^test-/)).toHaveLength(3)
    expect(times('node.started', /^package$/)[0]).toBeGreaterThanOrEqual(Math.max(...times('node.done', /^test-/)))
    expect(readdirSync(join(dir, 'dist'))).toEqual(['greet-1.2.3.tar.gz'])
    const listing = execFileSync('tar', ['-tzf', join(dir, 'dist/greet-1.2.3.tar.gz')], { encoding: 'utf8' })
    expect(listing.split('\n').filter(Boolean).sort()).toEqual(['greet-1.2.3/', 'greet-1.2.3/greet'])
    const extracted = join(work, 'c-app-extracted')
    execFileSync('mkdir', ['-p', extracted])
    execFileSync('tar', ['-xzf', join(dir, 'dist/greet-1.2.3.tar.gz'), '-C', extracted])
    expect(execFileSync(join(extracted, 'greet-1.2.3/greet'), ['kiln'], { encoding: 'utf8' })).toBe('hello, kiln\n')
  })

  it('a failing test shard stops the package and the export', async () => {
    const source = join(dir, 'src/greet.c')
    writeFileSync(source, readFileSync(source, 'utf8').replace('"world"', '"nobody"'))
    rmSync(join(dir, 'dist'), { recursive: true, force: true })
    const result = await kiln(['-C', dir, 'run', '--progress', 'json'])
    expect(result.code).toBe(1)
    const statuses = summary(result.stdout)
    expect(statuses['test-2']).toBe('failed')
    expect(statuses.package).toBe('skipped')
    expect(statuses.dist).toBe('skipped')
    expect(() => readdirSync(join(dir, 'dist'))).toThrow()
  })
})

describe('examples/plugin-authoring', () => {
  const dir = join(repoRoot, 'examples/plugin-authoring')
  const out = join(dir, 'out')
  afterAll(() => rmSync(out, { recursive: true, force: true }))

  it('runs a third-party node type found among the dependencies', async () => {
    rmSync(out, { recursive: true, force: true })
    const result = await kiln(['-C', dir, 'run', '--progress', 'json'])
    expect(result.code, result.stderr).toBe(0)
    expect(summary(result.stdout)).toMatchObject({ sums: expect.stringMatching(/^(ok|cached)$/), publish: 'ok' })
    const sums = readFileSync(join(out, 'SHA256SUMS'), 'utf8')
    const expected = execFileSync('sh', ['-c', 'cd site && find . -type f | sort | xargs sha256sum'], { cwd: dir, encoding: 'utf8' })
    expect(sums).toBe(expected)
  })
})

describe('examples/ship', () => {
  const dir = join(repoRoot, 'examples/ship')
  const version = `e2e-${process.env.KILN_ENGINE_FLAVOR ?? 'engine'}-${process.pid}`

  it('plans with policy findings: unpinned images warn, nothing is denied', async () => {
    execFileSync('bash', [join(repoRoot, 'scripts/registry.sh'), 'start'], { stdio: 'ignore' })
    const result = await kiln(['-C', dir, 'plan'])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/warn: \[images\.pinned\] node "image"/)
    expect(result.stdout).not.toMatch(/deny:/)
  })

  it('builds with a Dockerfile, tests inside the image, checks it, then pushes; the digest is what the registry serves', async () => {
    const result = await kiln(['-C', dir, 'run', '--progress', 'json', '--set', `version=${version}`])
    expect(result.code, result.stderr).toBe(0)
    const lines = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type: string; nodeId?: string; time: number; values?: Record<string, string> })
    const statuses = summary(result.stdout)
    expect(statuses).toMatchObject({ image: expect.stringMatching(/^(ok|cached)$/), smoke: expect.stringMatching(/^(ok|cached)$/), push: 'ok' })
    expect(['ok', 'cached']).toContain(statuses['image-policy'])
    // The push started only after both checks were done.
    const at = (type: string, nodeId: string) => lines.find((line) => line.type === type && line.nodeId === nodeId)?.time ?? NaN
    expect(at('node.started', 'push')).toBeGreaterThanOrEqual(Math.max(at('node.done', 'smoke'), at('node.done', 'image-policy')))
    const pushed = lines.find((line) => line.type === 'node.done' && line.nodeId === 'push')?.values?.default
    expect(pushed).toMatch(/^sha256:[0-9a-f]{64}$/)
    const headers = execFileSync(
      'curl',
      ['-fsSI', '-H', 'Accept: application/vnd.docker.distribution.manifest.v2+json', '-H', 'Accept: application/vnd.oci.image.manifest.v1+json', `http://127.0.0.1:5000/v2/kiln-examples/hello/manifests/${version}`],
      { encoding: 'utf8' },
    )
    expect(headers.toLowerCase()).toContain(`docker-content-digest: ${pushed}`)
  })
})
