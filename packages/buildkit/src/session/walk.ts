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
import type { fstypes } from '../proto.js'
import { fromBigInt } from '../proto.js'
import { GoMode, unixToGoMode } from './filemode.js'
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

/** Byte-wise comparison of two names (UTF-8), the order Go's sort.Strings gives. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
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

interface PendingDir {
  entry: WalkEntry
  emitted: boolean
}

function major(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn))
}

function minor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn))
}

/** Walks `root` and yields the entries to send, in the order the receiver validates. */
export async function* walk(root: string, options: WalkOptions = {}): AsyncGenerator<WalkEntry> {
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

  const toEntry = async (path: string, absolutePath: string, stats: BigIntStats): Promise<WalkEntry | undefined> => {
    const mode = unixToGoMode(Number(stats.mode))
    // Sockets cannot be recreated from a stat; fsutil leaves them out too.
    if (mode & GoMode.Socket) return undefined
    const stat: fstypes.Stat.$Properties = { path, mode, uid: 0, gid: 0, modTime: fromBigInt(stats.mtimeNs) }
    let hasData = false
    if (stats.isSymbolicLink()) {
      const target = readlinkSync(absolutePath)
      stat.linkname = target
      stat.size = Buffer.byteLength(target)
    } else if (stats.isFile()) {
      stat.size = Number(stats.size)
      hasData = true
      if (stats.nlink > 1n) {
        const key = `${stats.dev}:${stats.ino}`
        const first = hardlinks.get(key)
        if (first !== undefined) {
          stat.linkname = first
          stat.size = 0
          hasData = false
        } else hardlinks.set(key, path)
      }
    } else if (stats.isBlockDevice() || stats.isCharacterDevice()) {
      stat.devmajor = major(stats.rdev)
      stat.devminor = minor(stats.rdev)
    }
    return { path, absolutePath, stat, hasData }
  }

  async function* visit(relative: string, absolute: string, includeInfo: ParentMatches, excludeInfo: ParentMatches, parents: PendingDir[]): AsyncGenerator<WalkEntry> {
    // Synchronous calls per directory: a readdir and an lstat per entry take microseconds each, far less than
    // their thread-pool round trips, and the walk yields to the event loop between directories.
    await new Promise((resolve) => setImmediate(resolve))
    let names: string[]
    try {
      names = readdirSync(absolute)
    } catch (error) {
      throw new BuildkitError('BUILDKIT_FILE_TRANSFER', `cannot read directory ${absolute}: ${(error as Error).message}`, { cause: error })
    }
    names.sort(compareNames)
    const stats = names.map((name) => {
      try {
        return lstatSync(join(absolute, name), { bigint: true })
      } catch (error) {
        // Removed while walking: not an error, the file is just not there any more.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw new BuildkitError('BUILDKIT_FILE_TRANSFER', `cannot stat ${join(absolute, name)}: ${(error as Error).message}`, { cause: error })
      }
    })
    for (let index = 0; index < names.length; index++) {
      const name = names[index] as string
      const stat = stats[index]
      if (!stat) continue
      const path = relative === '' ? name : `${relative}/${name}`
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
      const absolutePath = join(absolute, name)
      const entry = await toEntry(path, absolutePath, stat)
      if (!entry) continue
      if (!skip) {
        for (const parent of parents) {
          if (parent.emitted) continue
          parent.emitted = true
          yield parent.entry
        }
        yield entry
      }
      if (isDir) yield* visit(path, absolutePath, childInclude, childExclude, [...parents, { entry, emitted: !skip }])
    }
  }

  yield* visit('', root, undefined, undefined, [])
}
