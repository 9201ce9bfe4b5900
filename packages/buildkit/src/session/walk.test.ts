import { mkdir, mkdtemp, rm, symlink, writeFile, link, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toNumber } from '../proto.js'
import { GoMode } from './filemode.js'
import type { WalkOptions } from './walk.js'
import { compareNames, compareWalkOrder, resolveFollowPaths, walk } from './walk.js'

let root: string

async function paths(options: WalkOptions = {}): Promise<string[]> {
  const out: string[] = []
  for await (const entry of walk(root, options)) out.push(entry.path)
  return out
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kiln-walk-'))
  for (const dir of ['a/b', 'a-c', 'a.d', 'B', 'empty', 'x/y/z']) await mkdir(join(root, dir), { recursive: true })
  for (const file of ['a/b/f', 'a/g', 'a-c/h', 'a.d/i', 'B/j', 'x/y/z/k.log', 'x/keep.log', 'top.txt', 'ü.txt', 'u.txt']) await writeFile(join(root, file), file)
  await symlink('../outside', join(root, 'link'))
  await symlink('a/b', join(root, 'dirlink'))
  await link(join(root, 'top.txt'), join(root, 'x/hard'))
  await chmod(join(root, 'a/g'), 0o4755)
})
afterAll(async () => rm(root, { recursive: true, force: true }))

describe('compareWalkOrder', () => {
  it('sorts / below every other byte', () => {
    const sorted = ['a-c', 'a/b', 'a', 'a.b', 'a/b/c', 'B'].sort(compareWalkOrder)
    expect(sorted).toEqual(['B', 'a', 'a/b', 'a/b/c', 'a-c', 'a.b'])
  })
})

describe('compareNames', () => {
  it('orders names by their UTF-8 bytes, astral characters included', () => {
    const names = ['b', 'B', 'a-c', 'a.b', 'a', '', 'ü', 'u', '\uffff', '\ue000', '😀', '\ud7ff', 'a😀', 'a\ufffd', 'aa', 'a ']
    const byBytes = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
    expect([...names].sort(compareNames)).toEqual(byBytes)
  })
})

describe('walk', () => {
  it('walks depth first, names in byte order per directory, a subtree before the next sibling', async () => {
    const all = await paths()
    expect(all).toEqual([
      'B', 'B/j', 'a', 'a/b', 'a/b/f', 'a/g', 'a-c', 'a-c/h', 'a.d', 'a.d/i', 'dirlink', 'empty', 'link', 'top.txt', 'u.txt',
      'x', 'x/hard', 'x/keep.log', 'x/y', 'x/y/z', 'x/y/z/k.log', 'ü.txt',
    ])
    for (let index = 1; index < all.length; index++) expect(compareWalkOrder(all[index - 1]!, all[index]!)).toBeLessThan(0)
  })

  it('sends Go mode bits, uid/gid 0, link targets unfollowed, hardlinks by inode', async () => {
    const entries = new Map<string, Awaited<ReturnType<typeof walk>['next']> extends never ? never : { stat: Record<string, unknown>; hasData: boolean }>()
    for await (const entry of walk(root)) entries.set(entry.path, entry as never)
    const dir = entries.get('a')!.stat
    expect(((dir.mode as number) & GoMode.Dir) >>> 0).toBe(GoMode.Dir)
    expect(entries.get('a/g')!.stat.mode).toBe((GoMode.Setuid | 0o755) >>> 0)
    const linkStat = entries.get('link')!.stat
    expect(((linkStat.mode as number) & GoMode.Symlink) >>> 0).toBe(GoMode.Symlink)
    expect(linkStat.linkname).toBe('../outside')
    expect(toNumber(linkStat.size as number)).toBe('../outside'.length)
    expect(entries.get('link')!.hasData).toBe(false)
    expect(entries.get('top.txt')!.stat.uid).toBe(0)
    expect(entries.get('top.txt')!.stat.gid).toBe(0)
    // x/hard comes after top.txt in the walk, so it is the link.
    expect(entries.get('x/hard')!.stat.linkname).toBe('top.txt')
    expect(entries.get('x/hard')!.hasData).toBe(false)
    expect(entries.get('top.txt')!.hasData).toBe(true)
  })

  it('skips excluded directories entirely, and sends the parents of re-included paths', async () => {
    expect(await paths({ excludePatterns: ['a', 'x'] })).not.toContain('a/b/f')
    const withException = await paths({ excludePatterns: ['x', '!x/y/z/k.log'] })
    expect(withException).toContain('x')
    expect(withException).toContain('x/y/z/k.log')
    expect(withException).not.toContain('x/keep.log')
    expect(withException).not.toContain('x/hard')
    const logs = await paths({ excludePatterns: ['**/*.log', '!x/keep.log'] })
    expect(logs).toContain('x/keep.log')
    expect(logs).not.toContain('x/y/z/k.log')
    expect(logs).toContain('x/y/z')
  })

  it('applies include patterns with their parents', async () => {
    expect(await paths({ includePatterns: ['a/b'] })).toEqual(['a', 'a/b', 'a/b/f'])
    expect(await paths({ includePatterns: ['**/*.log'] })).toEqual(['x', 'x/keep.log', 'x/y', 'x/y/z', 'x/y/z/k.log'])
  })

  it('resolves follow paths through symlinks, inside the root only', async () => {
    expect(await resolveFollowPaths(root, ['dirlink/f'])).toEqual(['a/b/f', 'dirlink'])
    expect(await resolveFollowPaths(root, ['link'])).toEqual(['link', 'outside'])
    expect(await resolveFollowPaths(root, ['.'])).toBeUndefined()
    expect(await paths({ followPaths: ['dirlink/f'] })).toEqual(['a', 'a/b', 'a/b/f', 'dirlink'])
  })
})
