import type { ImageConfig, InspectContext, ReadDirEntry, ReportDescriptor } from '@kiln/core'

/** A file tree for a fake solved result: path → content (a string, bytes, or a symlink). */
export type Tree = Readonly<Record<string, string | Uint8Array | { readonly symlink: string }>>

/** An {@link InspectContext} over an in-memory tree, recording reports and reads. */
export interface FakeInspect extends InspectContext {
  readonly reports: ReportDescriptor[]
  readonly reads: string[]
}

/** A fake of what the runtime gives `inspect`: reads of the solved result, the image config, and `report`. */
export function fakeInspect(tree: Tree = {}, imageConfig?: ImageConfig): FakeInspect {
  const encoder = new TextEncoder()
  const entries = new Map<string, { type: ReadDirEntry['type']; bytes: Uint8Array }>()
  for (const [path, content] of Object.entries(tree)) {
    const clean = `/${path}`.replace(/\/+/g, '/')
    const parts = clean.split('/').filter(Boolean)
    for (let index = 1; index < parts.length; index++) entries.set(`/${parts.slice(0, index).join('/')}`, { type: 'directory', bytes: new Uint8Array() })
    if (typeof content === 'string') entries.set(clean, { type: 'file', bytes: encoder.encode(content) })
    else if (content instanceof Uint8Array) entries.set(clean, { type: 'file', bytes: content })
    else entries.set(clean, { type: 'symlink', bytes: encoder.encode(content.symlink) })
  }
  const reports: ReportDescriptor[] = []
  const reads: string[] = []
  const normalise = (path: string) => `/${path}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1')
  return {
    nodeId: 'check',
    reports,
    reads,
    ...(imageConfig === undefined ? {} : { imageConfig }),
    async readFile(path) {
      reads.push(`file ${normalise(path)}`)
      const entry = entries.get(normalise(path))
      if (entry?.type !== 'file') throw new Error(`open ${path}: no such file or directory`)
      return entry.bytes
    },
    async readDir(path) {
      const dir = normalise(path)
      reads.push(`dir ${dir}`)
      if (dir !== '/' && entries.get(dir)?.type !== 'directory') throw new Error(`readdir ${path}: no such file or directory`)
      const prefix = dir === '/' ? '/' : `${dir}/`
      return [...entries]
        .filter(([name]) => name.startsWith(prefix) && !name.slice(prefix.length).includes('/') && name !== prefix)
        .map(([name, entry]) => ({ name: name.slice(prefix.length), type: entry.type, size: entry.bytes.length, mode: entry.type === 'directory' ? 0o40755 : entry.type === 'symlink' ? 0o120777 : 0o100644 }))
        .sort((a, b) => a.name.localeCompare(b.name))
    },
    report(descriptor) {
      reports.push(descriptor)
    },
  }
}
