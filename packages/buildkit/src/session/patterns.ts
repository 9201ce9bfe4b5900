/**
 * Path patterns with BuildKit's semantics (Docker's `.dockerignore` rules, as applied by the sender before walking).
 *
 * - A pattern is cleaned like Go's `filepath.Clean`; a leading `!` makes it an exception that re-includes paths.
 * - `*` matches within one path component, `?` one character other than `/`, `[...]` a character class,
 *   `\` escapes the next character; `**` matches any number of components (including none): `**` at the end
 *   matches everything below, `**` at the start matches at any depth.
 * - Patterns are applied in order, the last one that applies wins. A pattern that matches a parent directory
 *   matches everything below it (`foo` excludes `foo/bar/baz`).
 */
import { BuildkitError } from '../errors.js'

/** Go's `path.Clean`: lexical cleaning of a slash path. */
export function cleanPath(path: string): string {
  if (path === '') return '.'
  const rooted = path.startsWith('/')
  const out: string[] = []
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop()
      else if (!rooted) out.push('..')
      continue
    }
    out.push(part)
  }
  const joined = out.join('/')
  if (rooted) return '/' + joined
  return joined === '' ? '.' : joined
}

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp'


export class Pattern {
  readonly exclusion: boolean
  /** The cleaned pattern without its `!`. */
  readonly cleaned: string
  private readonly type: MatchType
  private readonly regexp: RegExp | undefined

  constructor(source: string) {
    let pattern = cleanPath(source.trim())
    this.exclusion = pattern.startsWith('!')
    if (this.exclusion) {
      if (pattern.length === 1) throw new BuildkitError('BUILDKIT_INVALID_REQUEST', 'illegal exclusion pattern: "!"')
      pattern = pattern.slice(1)
    }
    this.cleaned = pattern
    const compiled = compile(pattern)
    this.type = compiled.type
    this.regexp = compiled.regexp
  }

  /** Matches one slash-separated relative path (no parent logic). */
  match(path: string): boolean {
    switch (this.type) {
      case 'exact':
        return path === this.cleaned
      case 'prefix':
        return path.startsWith(this.cleaned.slice(0, -2))
      case 'suffix': {
        const suffix = this.cleaned.slice(2)
        if (path.endsWith(suffix)) return true
        return suffix.startsWith('/') && path === suffix.slice(1)
      }
      case 'regexp':
        return this.regexp?.test(path) ?? false
    }
  }

  /** The pattern with a trailing `/**` or `/*` removed (what a directory prefix can be compared with). */
  withoutTrailingGlob(): string {
    let text = this.cleaned
    if (text.endsWith('/**')) text = text.slice(0, -3)
    if (text.endsWith('/*')) text = text.slice(0, -2)
    return text
  }
}

function compile(pattern: string): { type: MatchType; regexp?: RegExp } {
  let source = '^'
  let type: MatchType = 'exact'
  const chars = [...pattern]
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string
    const start = i === 0
    if (ch === '*') {
      if (chars[i + 1] === '*') {
        i++
        if (chars[i + 1] === '/') i++
        if (i + 1 >= chars.length) {
          if (type === 'exact') type = 'prefix'
          else {
            source += '.*'
            type = 'regexp'
          }
        } else {
          source += '(.*/)?'
          type = 'regexp'
        }
        if (start) type = 'suffix'
      } else {
        source += '[^/]*'
        type = 'regexp'
      }
    } else if (ch === '?') {
      source += '[^/]'
      type = 'regexp'
    } else if ('.+()|{}$'.includes(ch)) {
      source += '\\' + ch
    } else if (ch === '\\') {
      const next = chars[i + 1]
      if (next !== undefined) {
        source += '\\' + next
        i++
        type = 'regexp'
      } else {
        source += '\\\\'
      }
    } else if (ch === '[' || ch === ']') {
      source += ch
      type = 'regexp'
    } else {
      source += ch
    }
  }
  if (type !== 'regexp') return { type }
  try {
    return { type, regexp: new RegExp(source + '$') }
  } catch (error) {
    throw new BuildkitError('BUILDKIT_INVALID_REQUEST', `invalid pattern ${JSON.stringify(pattern)}: syntax error in pattern`, { cause: error })
  }
}

/** Per-pattern results for a directory, handed to its children (patternmatcher's MatchInfo). */
export type ParentMatches = readonly boolean[] | undefined

export class PatternMatcher {
  readonly patterns: Pattern[]
  /** True when at least one pattern is an exception (`!`). */
  readonly hasExclusions: boolean

  constructor(patterns: readonly string[]) {
    this.patterns = patterns.filter((pattern) => pattern.trim() !== '').map((pattern) => new Pattern(pattern))
    this.hasExclusions = this.patterns.some((pattern) => pattern.exclusion)
  }

  /**
   * Whether `path` is matched (by the last applicable pattern), where a pattern also applies when it matches one
   * of the path's parent directories.
   */
  matches(path: string): boolean {
    return this.matchWithParents(path, undefined).matched
  }

  /**
   * The same answer as `matches`, reusing the parent directory's per-pattern results so a walk does not re-test
   * every ancestor. Pass `undefined` for a path whose parent results are unknown.
   */
  matchWithParents(path: string, parent: ParentMatches): { matched: boolean; info: boolean[] } {
    let matched = false
    const info: boolean[] = new Array<boolean>(this.patterns.length).fill(false)
    this.patterns.forEach((pattern, index) => {
      let match = parent?.[index] ?? false
      if (!match) {
        if (pattern.exclusion !== matched) return
        match = pattern.match(path)
        if (!match && parent === undefined) {
          const parts = path.split('/')
          for (let depth = 1; depth < parts.length && !match; depth++) match = pattern.match(parts.slice(0, depth).join('/'))
        }
      }
      info[index] = match
      if (match) matched = !pattern.exclusion
    })
    return { matched, info }
  }
}

/**
 * Reads `.dockerignore` text into patterns: `#` comments and blank lines are skipped, each pattern is trimmed and
 * cleaned, and a leading `/` is dropped (patterns are relative to the context root).
 */
export function parseIgnoreFile(content: string): string[] {
  const out: string[] = []
  const lines = content.replace(/^\uFEFF/, '').split(/\r?\n/)
  for (const line of lines) {
    if (line.startsWith('#')) continue
    let pattern = line.trim()
    if (pattern === '') continue
    const invert = pattern.startsWith('!')
    if (invert) pattern = pattern.slice(1).trim()
    if (pattern !== '') {
      pattern = cleanPath(pattern)
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1)
    }
    out.push(invert ? '!' + pattern : pattern)
  }
  return out
}
