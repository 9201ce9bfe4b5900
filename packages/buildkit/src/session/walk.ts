/**
 * Walking a local directory the way BuildKit's receiver expects it (wire doc 5.2, 5.5): depth first, a directory
 * before its contents, names within a directory in byte order, the whole subtree of an entry before its next
 * sibling. Include and exclude patterns are applied while walking; a directory that is filtered out but holds an
 * included entry is still sent, just before that entry.
 */
import type { BigIntStats } from 'node:fs'
import { lstatSync, readdirSync, readlinkSync } from 'node:fs'
import { lstat, readdir, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import { BuildkitError } from '../errors.js'
import { AsyncQueue } from '../grpc/queue.js'
import type { fstypes } from '../proto.js'
import { fromBigInt } from '../proto.js'
import { GoMode, unixToGoMode } from './filemode.js'
import type { StatFields } from './packets.js'
import type { ParentMatches } from './patterns.js'
import { cleanPath, PatternMatcher } from './patterns.js'

export interface WalkOptions {
  /** Only paths matching one of these (or lying on the way to one) are sent. */
  includePatterns?: readonly string[] | undefined
  /** Paths matching these are not sent (Docker `.dockerignore` semantics, `!` exceptions). */
  excludePatterns?: readonly string[] | undefined
  /** Paths that must be sent, with the symlinks among them resolved and their targets sent too. */
  followPaths?: readonly string[] | undefined
}

export interface WalkEntry {
  /** Relative slash path, as sent. */
  path: string
  /** Absolute path on disk. */
  absolutePath: string
  /** The stat as sent (Go mode bits, uid/gid 0, size, mtime in ns, link name). */
  stat: fstypes.Stat.$Properties
  /** True for a regular file whose content can be requested (not a hardlink to an earlier entry). */
  hasData: boolean
}

/**
 * A UTF-16 code unit moved so that comparing units gives code point order, which is UTF-8 byte order: surrogates
 * (code points above U+FFFF) go above U+E000–U+FFFF instead of below.
 */
function orderUnit(unit: number): number {
  if (unit < 0xd800) return unit
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000
}

/** Byte-wise comparison of two names (UTF-8), the order Go's sort.Strings gives, without encoding them. */
export function compareNames(a: string, b: string): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return orderUnit(x) - orderUnit(y)
  }
  return a.length - b.length
}

/**
 * Compares two relative paths in walk order: byte by byte, with `/` lower than any other byte. Useful to check a
 * sequence: each path must compare greater than the one before it.
 */
export function compareWalkOrder(a: string, b: string): number {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  const length = Math.min(left.length, right.length)
  for (let i = 0; i < length; i++) {
    const x = left[i] as number
    const y = right[i] as number
    if (x === y) continue
    if (x === 0x2f) return -1
    if (y === 0x2f) return 1
    return x - y
  }
  return left.length - right.length
}

function containsWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name[i]
    if (ch === '\\') i++
    else if (ch === '*' || ch === '?' || ch === '[') return true
  }
  return false
}

function globToRegExp(glob: string): RegExp {
  let source = '^'
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i] as string
    if (ch === '*') source += '[^/]*'
    else if (ch === '?') source += '[^/]'
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1)
      if (end < 0) return /$^/
      let body = glob.slice(i + 1, end)
      if (body.startsWith('^') || body.startsWith('!')) body = '^' + body.slice(1)
      source += `[${body}]`
      i = end
    } else if (ch === '\\' && i + 1 < glob.length) source += '\\' + glob[++i]
    else source += ch.replace(/[.+^${}()|\\/]/g, '\\$&')
  }
  return new RegExp(source + '$')
}

/**
 * Resolves symlinks along follow paths (relative to root): every path is kept, and wherever a component is a
 * symlink its target (taken as relative to the root, never outside it) is followed as well.
 */
export async function resolveFollowPaths(root: string, paths: readonly string[]): Promise<string[] | undefined> {
  const resolved = new Set<string>()
  const readLink = async (path: string, wildcard: boolean): Promise<string[] | undefined> => {
    const base = path.split('/').pop() ?? path
    if (wildcard && containsWildcards(base)) {
      const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '.'
      let names: string[]
      try {
        names = await readdir(join(root, parent))
      } catch {
        return undefined
      }
      const regexp = globToRegExp(base)
      const out: string[] = []
      for (const name of names) {
        if (!regexp.test(name)) continue
        out.push(...((await readLink(cleanPath(`${parent}/${name}`), false)) ?? []))
      }
      return out
    }
    let stats
    try {
      stats = await lstat(join(root, path))
    } catch {
      return undefined
    }
    if (!stats.isSymbolicLink()) return undefined
    const link = cleanPath(await readlink(join(root, path)))
    return [link.startsWith('/') ? link : cleanPath(`/${path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : ''}/${link}`)]
  }
  const append = async (input: string): Promise<void> => {
    let rest = cleanPath(input).replace(/^\/+/, '')
    let current = '.'
    for (;;) {
      const slash = rest.indexOf('/')
      const head = slash < 0 ? rest : rest.slice(0, slash)
      rest = slash < 0 ? '' : rest.slice(slash + 1)
      current = cleanPath(`${current}/${head}`)
      const targets = await readLink(current, true)
      if ((rest === '' || targets) && resolved.has(current)) return
      if (targets) {
        resolved.add(current)
        for (const target of targets) await append(cleanPath(`${target}/${rest}`))
        return
      }
      if (rest === '') {
        resolved.add(current)
        return
      }
    }
  }
  for (const path of paths) await append(path)
  const sorted = [...resolved].map((path) => path.replace(/^\/+/, '') || '.').sort()
  const out: string[] = []
  let last: string | undefined
  for (const path of sorted) {
    // One of the paths is the root itself: nothing is filtered.
    if (path === '.') return undefined
    if (last !== undefined && path.startsWith(last + '/')) continue
    out.push(path)
    last = path
  }
  return out
}

function hasPrefixPattern(matcher: PatternMatcher, directory: string, exclusions: boolean): boolean {
  const dirSlash = directory + '/'
  return matcher.patterns.some((pattern) => pattern.exclusion === exclusions && (pattern.withoutTrailingGlob() + '/').startsWith(dirSlash))
}

const PATTERN_CHARS = /[*[\]?^\\]/

/** One entry as the sender needs it: the stat fields (uid/gid are 0) and where to read the content. */
export interface RawEntry extends StatFields {
  absolutePath: string
  /** True for a regular file whose content can be requested (not a hardlink to an earlier entry). */
  hasData: boolean
}

interface PendingDir {
  entry: RawEntry
  emitted: boolean
}

function major(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn))
}

function minor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn))
}

/** Entries handed over at once (and the most lstat calls made between two turns of the event loop). */
const BATCH = 512
/**
 * Longest the walk holds the event loop. An lstat usually takes microseconds, but one whose inode is not cached
 * waits for the disk: the time is checked after every call.
 */
const SLICE_MS = 10

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * Walks `root` and hands the entries to send to `onBatch`, in the order the receiver validates, a few hundred at a
 * time. The walk waits for a promise `onBatch` returns (back-pressure). Between batches and directories it yields
 * to the event loop, so a big tree never holds up the session's health checks.
 *
 * Each directory is read and its entries are lstat'ed with synchronous calls: a readdir and an lstat take
 * microseconds, far less than a thread-pool round trip each, and at most BATCH of them run back to back.
 */
export async function walkTree(root: string, options: WalkOptions, onBatch: (entries: RawEntry[]) => Promise<void> | void): Promise<void> {
  let rootStats
  try {
    rootStats = await lstat(root)
  } catch (error) {
    throw new BuildkitError('BUILDKIT_FILE_TRANSFER', `cannot read the local directory ${root}: ${(error as Error).message}`, { cause: error })
  }
  if (!rootStats.isDirectory()) throw new BuildkitError('BUILDKIT_FILE_TRANSFER', `the local source ${root} is not a directory`)

  let includes = options.includePatterns ? [...options.includePatterns] : undefined
  if (options.followPaths && options.followPaths.length > 0) {
    const targets = await resolveFollowPaths(root, options.followPaths)
    if (targets) includes = [...new Set([...(includes ?? []), ...targets])].sort()
  }
  const includeMatcher = includes && includes.length > 0 ? new PatternMatcher(includes) : undefined
  const excludeMatcher = options.excludePatterns && options.excludePatterns.length > 0 ? new PatternMatcher(options.excludePatterns) : undefined
  const onlyPrefixIncludes = !includeMatcher?.patterns.some((pattern) => !pattern.exclusion && PATTERN_CHARS.test(pattern.withoutTrailingGlob()))
  const onlyPrefixExceptions = !excludeMatcher?.patterns.some((pattern) => pattern.exclusion && PATTERN_CHARS.test(pattern.withoutTrailingGlob()))
  const hardlinks = new Map<string, string>()
  let batch: RawEntry[] = []
  let statsSinceYield = 0
  let sliceStart = performance.now()

  const flush = async (): Promise<void> => {
    if (batch.length > 0) {
      const entries = batch
      batch = []
      await onBatch(entries)
    }
    await nextTurn()
    statsSinceYield = 0
    sliceStart = performance.now()
  }

  const toEntry = (path: string, absolutePath: string, stats: BigIntStats): RawEntry | undefined => {
    const mode = unixToGoMode(Number(stats.mode))
    // Sockets cannot be recreated from a stat; fsutil leaves them out too.
    if (mode & GoMode.Socket) return undefined
    const entry: RawEntry = { path, absolutePath, mode, size: 0, modTimeNs: stats.mtimeNs, linkname: undefined, devmajor: undefined, devminor: undefined, hasData: false }
    if (stats.isSymbolicLink()) {
      const target = readlinkSync(absolutePath)
      entry.linkname = target
      entry.size = Buffer.byteLength(target)
    } else if (stats.isFile()) {
      entry.size = Number(stats.size)
      entry.hasData = true
      if (stats.nlink > 1n) {
        const key = `${stats.dev}:${stats.ino}`
        const first = hardlinks.get(key)
        if (first !== undefined) {
          entry.linkname = first
          entry.size = 0
          entry.hasData = false
        } else hardlinks.set(key, path)
      }
    } else if (stats.isBlockDevice() || stats.isCharacterDevice()) {
      entry.devmajor = major(stats.rdev)
      entry.devminor = minor(stats.rdev)
    }
    return entry
  }

  const lstatEntry = (absolutePath: string): BigIntStats | undefined => {
    try {
      return lstatSync(absolutePath, { bigint: true })
    } catch (error) {
      // Removed while walking: not an error, the file is just not there any more.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new BuildkitError('BUILDKIT_FILE_TRANSFER', `cannot stat ${absolutePath}: ${(error as Error).message}`, { cause: error })
    }
  }

  const visit = async (relative: string, absolute: string, includeInfo: ParentMatches, excludeInfo: ParentMatches, parents: PendingDir[]): Promise<void> => {
    let names: string[]
    try {
      names = readdirSync(absolute)
    } catch (error) {
      throw new BuildkitError('BUILDKIT_FILE_TRANSFER', `cannot read directory ${absolute}: ${(error as Error).message}`, { cause: error })
    }
    names.sort(compareNames)
    const prefix = relative === '' ? '' : `${relative}/`
    const absolutePrefix = absolute.endsWith('/') ? absolute : `${absolute}/`
    for (let index = 0; index < names.length; index++) {
      if (++statsSinceYield >= BATCH || performance.now() - sliceStart > SLICE_MS) await flush()
      const name = names[index] as string
      const absolutePath = absolutePrefix + name
      const stat = lstatEntry(absolutePath)
      if (!stat) continue
      const path = prefix + name
      const isDir = stat.isDirectory()
      let skip = false
      let childInclude: ParentMatches
      let childExclude: ParentMatches
      if (includeMatcher) {
        const result = includeMatcher.matchWithParents(path, includeInfo)
        childInclude = result.info
        if (!result.matched) {
          if (isDir && onlyPrefixIncludes && !hasPrefixPattern(includeMatcher, path, false)) continue
          skip = true
        }
      }
      if (excludeMatcher) {
        const result = excludeMatcher.matchWithParents(path, excludeInfo)
        childExclude = result.info
        if (result.matched) {
          if (isDir && onlyPrefixExceptions && (!excludeMatcher.hasExclusions || !hasPrefixPattern(excludeMatcher, path, true))) continue
          skip = true
        }
      }
      // A filtered-out file is not needed at all (and must not become the target of a later hardlink).
      if (skip && !isDir) continue
      const entry = toEntry(path, absolutePath, stat)
      if (!entry) continue
      if (!skip) {
        for (const parent of parents) {
          if (parent.emitted) continue
          parent.emitted = true
          batch.push(parent.entry)
        }
        batch.push(entry)
      }
      // Once an entry is sent, so are all its parents: only a skipped directory needs remembering.
      if (isDir) await visit(path, absolutePath, childInclude, childExclude, skip ? [...parents, { entry, emitted: false }] : [])
    }
  }

  await visit('', root, undefined, undefined, [])
  if (batch.length > 0) await onBatch(batch)
}

/** The stat of an entry in protobuf form (uid/gid 0, size for files and symlinks, link name). */
export function toStat(entry: RawEntry): fstypes.Stat.$Properties {
  const stat: fstypes.Stat.$Properties = { path: entry.path, mode: entry.mode, uid: 0, gid: 0, modTime: fromBigInt(entry.modTimeNs) }
  if (entry.linkname !== undefined) stat.linkname = entry.linkname
  if (entry.hasData || entry.linkname !== undefined || entry.size !== 0) stat.size = entry.size
  if (entry.devmajor !== undefined) stat.devmajor = entry.devmajor
  if (entry.devminor !== undefined) stat.devminor = entry.devminor
  return stat
}

/** Walks `root` and yields the entries to send, in the order the receiver validates. */
export async function* walk(root: string, options: WalkOptions = {}): AsyncGenerator<WalkEntry> {
  const queue = new AsyncQueue<RawEntry[]>()
  let resume: (() => void) | undefined
  queue.onDrain = () => {
    const wake = resume
    resume = undefined
    wake?.()
  }
  walkTree(root, options, (entries) => {
    queue.push(entries)
    if (queue.size > 2) return new Promise<void>((resolve) => (resume = resolve))
    return undefined
  }).then(
    () => queue.end(),
    (error: unknown) => queue.fail(error),
  )
  for await (const entries of queue) {
    for (const entry of entries) yield { path: entry.path, absolutePath: entry.absolutePath, stat: toStat(entry), hasData: entry.hasData }
  }
}
