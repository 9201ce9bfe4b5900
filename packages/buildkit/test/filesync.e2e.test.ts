import { mkdtemp, rm, writeFile, readFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BuildkitClient, Session } from '../src/index.js'
import { connect } from '../src/index.js'
import { ENGINE } from './helpers/engine.js'
import * as llb from './helpers/llb.js'
import { diffTrees, makeTrickyTree, readTree } from './helpers/tree.js'

describe(`file sync round trip on ${ENGINE}`, () => {
  let client: BuildkitClient
  let session: Session
  let work: string

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'kiln-filesync-'))
    client = await connect({ address: ENGINE })
  })
  afterAll(async () => {
    await session?.close()
    client?.close()
    await rm(work, { recursive: true, force: true })
  })

  it('sends a tricky tree (200 MB file, 20k small files) in and gets it back identical through the local exporter', async () => {
    const source = join(work, 'tree')
    let mark = Date.now()
    const phase = (name: string): void => {
      console.info(`${name}: ${Date.now() - mark} ms`)
      mark = Date.now()
    }
    await makeTrickyTree(source, { bigFileBytes: 200 * 1024 * 1024, smallFiles: 20_000 })
    phase('make tree')
    session = await client.createSession({ dirs: { tree: source } })
    const dest = join(work, 'out')
    const local = llb.local('tree')
    const events: string[] = []
    const result = await client.solve({
      definition: llb.definition([local], local),
      session,
      exports: [{ type: 'local', dest }],
      onEvent: (event) => events.push(event.type),
    })
    phase('sync in and export out')
    expect(result.exporterResponse).toEqual({})
    expect(events).toContain('vertex')
    const problems = diffTrees(await readTree(source), await readTree(dest))
    phase('compare')
    expect(problems).toEqual([])
    // No temporary sibling is left behind.
    const siblings = (await import('node:fs/promises')).readdir(work)
    expect((await siblings).filter((name) => name.includes('.kiln-'))).toEqual([])
  }, 240_000)

  it('re-sends nothing for an unchanged tree with the same shared key', async () => {
    // A new session with the same (default, stable) shared key and the same dir name: the engine compares
    // metadata with its cached copy and requests no file. local.unique makes the source op new, so the sync runs.
    const again = await client.createSession({ dirs: { tree: join(work, 'tree') } })
    expect(again.sharedKey).toBe(session.sharedKey)
    const local = llb.local('tree', { 'local.unique': again.id })
    const statuses: { id: string; current: number }[] = []
    const started = Date.now()
    await client.solve({
      definition: llb.definition([local], local),
      session: again,
      onEvent: (event) => {
        if (event.type === 'status') statuses.push({ id: event.id, current: event.current })
      },
    })
    await again.close()
    const elapsed = Date.now() - started
    // The transfer status counts bytes received; nothing of the 200 MB file comes again.
    const transfers = statuses.filter((status) => status.id.startsWith('transferring'))
    expect(transfers.length).toBeGreaterThan(0)
    const transferred = Math.max(...transfers.map((status) => status.current))
    expect(transferred).toBeLessThan(10 * 1024 * 1024)
    expect(elapsed).toBeGreaterThan(0)
  }, 120_000)

  it('applies .dockerignore-style excludes with ! exceptions', async () => {
    const source = join(work, 'filtered')
    await makeTrickyTree(source)
    await writeFile(join(source, 'keep.log'), 'kept by an exception\n')
    await writeFile(join(source, 'drop.log'), 'dropped\n')
    const excludes = ['**/*.log', '!keep.log', 'a', '!a/b/file.txt', 'unicode', 'nested/**/leaf', 'link-*', '!link-relative']
    const filtered = await client.createSession({ dirs: { filtered: source } })
    try {
      const local = llb.local('filtered', { 'local.excludepatterns': JSON.stringify(excludes) })
      const dest = join(work, 'filtered-out')
      await client.solve({ definition: llb.definition([local], local), session: filtered, exports: [{ type: 'local', dest }] })
      const tree = await readTree(dest)
      const paths = [...tree.keys()].sort()
      expect(paths).toContain('keep.log')
      expect(paths).not.toContain('drop.log')
      // a is excluded, but the exception re-includes a/b/file.txt and with it its parent directories.
      expect(paths).toContain('a/b/file.txt')
      expect(paths).toContain('a/b')
      expect(paths).not.toContain('a/z.txt')
      expect(paths).not.toContain('a/hard-2')
      expect(paths.some((path) => path.startsWith('unicode'))).toBe(false)
      expect(paths).not.toContain('nested/deep/deeper/deepest/leaf')
      expect(paths).toContain('nested/deep/deeper/deepest')
      expect(paths).toContain('link-relative')
      expect(paths).not.toContain('link-dangling')
      expect(paths).toContain('a-c')
      expect(paths).toContain('setuid')
    } finally {
      await filtered.close()
    }
  }, 120_000)

  it('streams a tar export into a file', async () => {
    const source = join(work, 'small')
    await makeTrickyTree(source)
    const small = await client.createSession({ dirs: { small: source } })
    try {
      const local = llb.local('small')
      const dest = join(work, 'small.tar')
      await client.solve({ definition: llb.definition([local], local), session: small, exports: [{ type: 'tar', dest }] })
      const tar = await readFile(dest)
      expect((await stat(dest)).size).toBeGreaterThan(1024)
      // ustar magic of the first header, and the file names inside.
      expect(tar.subarray(257, 262).toString()).toBe('ustar')
      expect(tar.includes(Buffer.from('a/b/file.txt'))).toBe(true)
      expect(tar.includes(Buffer.from('hardlinked content'))).toBe(true)
    } finally {
      await small.close()
    }
  }, 120_000)
})
