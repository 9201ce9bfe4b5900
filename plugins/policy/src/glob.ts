/**
 * Glob patterns for `policy.files`, matched against paths relative to the scanned root (no leading slash):
 * `*` and `?` stay within one path segment, `**` spans segments, `[abc]`/`[!abc]` are character classes and
 * `{a,b}` alternatives. A pattern without a slash matches a name at any depth (`*.pem`, `.env`), as in .gitignore;
 * a pattern with one is anchored at the root (`etc/shadow`, `app/**\/*.key`); a leading `/` only anchors.
 */
export function globToRegExp(pattern: string): RegExp {
  let source = pattern.trim()
  const anchored = source.startsWith('/') || source.replace(/\/+$/, '').includes('/')
  source = source.replace(/^\/+/, '').replace(/\/+$/, '')
  let out = ''
  let braces = 0
  for (let index = 0; index < source.length; index++) {
    const char = source.charAt(index)
    if (char === '*') {
      if (source.charAt(index + 1) === '*') {
        const before = index === 0 || source.charAt(index - 1) === '/'
        const after = source.charAt(index + 2)
        index++
        if (before && after === '/') {
          out += '(?:[^/]*(?:/[^/]*)*/)?'
          index++
        } else if (before && after === '') {
          out += '.*'
        } else out += '[^/]*'
      } else out += '[^/]*'
    } else if (char === '?') out += '[^/]'
    else if (char === '[') {
      const end = source.indexOf(']', index + 2)
      if (end < 0) out += '\\['
      else {
        let body = source.slice(index + 1, end)
        const negate = body.startsWith('!') || body.startsWith('^')
        if (negate) body = body.slice(1)
        out += `[${negate ? '^/' : ''}${body.replace(/\\/g, '\\\\').replace(/]/g, '\\]')}]`
        index = end
      }
    } else if (char === '{') {
      braces++
      out += '(?:'
    } else if (char === '}' && braces > 0) {
      braces--
      out += ')'
    } else if (char === ',' && braces > 0) out += '|'
    else out += char.replace(/[.+^$()|\\]/g, '\\$&')
  }
  if (braces > 0) throw new SyntaxError(`Invalid glob ${JSON.stringify(pattern)}: expected a closing "}"`)
  return new RegExp(`^${anchored ? '' : '(?:.*/)?'}${out}$`)
}

/** A compiled list of globs. */
export interface GlobSet {
  /** The first pattern matching a relative path, if any. */
  match(path: string): string | undefined
}

/** Compiles globs once for many paths. */
export function createGlobSet(patterns: readonly string[]): GlobSet {
  const compiled = patterns.map((pattern) => ({ pattern, regexp: globToRegExp(pattern) }))
  return {
    match: (path) => compiled.find(({ regexp }) => regexp.test(path.replace(/^\/+/, '')))?.pattern,
  }
}

/** Tells whether a glob compiles (for config validation). */
export function isValidGlob(pattern: string): boolean {
  try {
    globToRegExp(pattern)
    return pattern.trim() !== ''
  } catch {
    return false
  }
}
