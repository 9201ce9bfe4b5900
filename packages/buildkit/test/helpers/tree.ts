/** Builds tricky directory trees and compares two trees entry by entry. */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'
import { chmod, link, mkdir, open, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface TreeOptions {
  /** Size of big.bin in bytes (0 for none). */
  bigFileBytes?: number
  /** Number of small files under many/ (0 for none). */
  smallFiles?: number
}

/** Writes a tree with every case the file sync must get right. */
export async function makeTrickyTree(root: string, options: TreeOptions = {}): Promise<void> {
  const file = async (path: string, content: string | Uint8Array, mode = 0o644): Promise<void> => {
    await writeFile(join(root, path), content)
    await chmod(join(root, path), mode)
  }
  for (const dir of ['a/b', 'a-c.d', 'a.b', 'empty', 'nested/deep/deeper/deepest', 'unicode/ünï cødé', 'with space', 'sticky', 'ro-dir']) {
    await mkdir(join(root, dir), { recursive: true })
  }
  await file('a/b/file.txt', 'in a/b\n')
  await file('a/z.txt', 'in a\n')
  await file('a-c', 'a-c sorts after a/ but before a.b\n')
  await file('a-c.d/x', 'x\n')
  await file('a.b/y', 'y\n')
  await file('exec.sh', '#!/bin/sh\necho hi\n', 0o755)
  await file('setuid', 'setuid\n', 0o4755)
  await file('setgid', 'setgid\n', 0o2750)
  await file('readonly.txt', 'read only\n', 0o444)
  await file('empty.txt', '')
  await file('nested/deep/deeper/deepest/leaf', 'leaf\n', 0o600)
  await file('unicode/ünï cødé/ファイル.txt', 'unicode\n')
  await file('with space/file with space.txt', 'spaces\n')
  await file('B-upper', 'upper case sorts first\n')
  await chmod(join(root, 'sticky'), 0o1777)
  await file('ro-dir/inside', 'inside a read-only dir\n')
  await chmod(join(root, 'ro-dir'), 0o555)
  await symlink('a/b/file.txt', join(root, 'link-relative'))
  await symlink('does/not/exist', join(root, 'link-dangling'))
  await symlink('../../../etc/passwd', join(root, 'link-escaping'))
  await symlink('/etc/passwd', join(root, 'link-absolute'))
  await symlink('a', join(root, 'link-dir'))
  await file('hard-1', 'hardlinked content\n')
  await link(join(root, 'hard-1'), join(root, 'a/hard-2'))
  if (options.bigFileBytes) {
    const handle = await open(join(root, 'big.bin'), 'w')
    const block = randomBytes(4 * 1024 * 1024)
    for (let written = 0, n = 0; written < options.bigFileBytes; n++) {
      block.writeUInt32BE(n, 0)
      const length = Math.min(block.length, options.bigFileBytes - written)
      await handle.write(block, 0, length)
      written += length
    }
    await handle.close()
  }
  if (options.smallFiles) {
    const perDir = 250
    for (let index = 0; index < options.smallFiles; index += perDir) {
      // Synchronous writes: 20 000 tiny files are far quicker without a thread-pool round trip each.
      const dir = join(root, 'many', `d${String(index / perDir).padStart(3, '0')}`)
      mkdirSync(dir, { recursive: true })
      for (let j = index; j < Math.min(index + perDir, options.smallFiles); j++) writeFileSync(join(dir, `f${j}.txt`), `small file ${j}\n`)
    }
  }
}

export interface TreeEntry {
  type: 'file' | 'dir' | 'symlink' | 'other'
  mode: number
  size: number
  link?: string
  hash?: string
  mtimeMs?: number
  inode: string
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Reads a tree into a map of relative path → entry (content hashed, link targets read, never followed). */
export async function readTree(root: string): Promise<Map<string, TreeEntry>> {
  const out = new Map<string, TreeEntry>()
  const visit = async (relative: string): Promise<void> => {
    for (const name of readdirSync(join(root, relative))) {
      const path = relative ? `${relative}/${name}` : name
      const full = join(root, path)
      const stats = lstatSync(full)
      const entry: TreeEntry = { type: 'other', mode: stats.mode & 0o7777, size: 0, inode: `${stats.dev}:${stats.ino}` }
      if (stats.isDirectory()) entry.type = 'dir'
      else if (stats.isSymbolicLink()) {
        entry.type = 'symlink'
        entry.link = readlinkSync(full)
        entry.mode = 0
      } else if (stats.isFile()) {
        entry.type = 'file'
        entry.size = stats.size
        entry.hash = stats.size === 0 ? '' : stats.size < 1024 * 1024 ? createHash('sha256').update(readFileSync(full)).digest('hex') : await hashFile(full)
        entry.mtimeMs = Math.floor(stats.mtimeMs)
      }
      out.set(path, entry)
      if (stats.isDirectory()) await visit(path)
    }
  }
  await visit('')
  return out
}

/** Lists the differences between two trees (empty when identical in content, modes, links and hardlinks). */
export function diffTrees(expected: Map<string, TreeEntry>, actual: Map<string, TreeEntry>): string[] {
  const problems: string[] = []
  for (const [path, want] of expected) {
    const got = actual.get(path)
    if (!got) {
      problems.push(`missing ${path}`)
      continue
    }
    if (got.type !== want.type) problems.push(`${path}: type ${got.type}, want ${want.type}`)
    else if (got.mode !== want.mode) problems.push(`${path}: mode ${got.mode.toString(8)}, want ${want.mode.toString(8)}`)
    else if (got.link !== want.link) problems.push(`${path}: link ${got.link}, want ${want.link}`)
    else if (got.hash !== want.hash || got.size !== want.size) problems.push(`${path}: content differs`)
    else if (got.mtimeMs !== want.mtimeMs) problems.push(`${path}: mtime ${got.mtimeMs}, want ${want.mtimeMs}`)
  }
  for (const path of actual.keys()) if (!expected.has(path)) problems.push(`unexpected ${path}`)
  // Hardlinks: paths sharing an inode on one side share it on the other.
  const groups = (tree: Map<string, TreeEntry>): string[] => {
    const byInode = new Map<string, string[]>()
    for (const [path, entry] of tree) if (entry.type === 'file') byInode.set(entry.inode, [...(byInode.get(entry.inode) ?? []), path])
    return [...byInode.values()].filter((paths) => paths.length > 1).map((paths) => paths.sort().join(' = ')).sort()
  }
  const wantGroups = groups(expected).join('; ')
  const gotGroups = groups(actual).join('; ')
  if (wantGroups !== gotGroups) problems.push(`hardlinks: ${gotGroups || 'none'}, want ${wantGroups || 'none'}`)
  return problems
}
