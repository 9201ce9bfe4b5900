import { describe, expect, it } from 'vitest'
import { cleanPath, parseIgnoreFile, PatternMatcher } from './patterns.js'

const matches = (patterns: string[], path: string): boolean => new PatternMatcher(patterns).matches(path)

describe('cleanPath', () => {
  it.each([
    ['', '.'],
    ['a//b', 'a/b'],
    ['./a/./b/', 'a/b'],
    ['a/../b', 'b'],
    ['../a', '../a'],
    ['/../a', '/a'],
    ['/', '/'],
  ])('%s -> %s', (input, output) => expect(cleanPath(input)).toBe(output))
})

describe('PatternMatcher (Docker .dockerignore semantics)', () => {
  it('matches exact names and their subtrees (a pattern matching a parent matches the children)', () => {
    expect(matches(['foo'], 'foo')).toBe(true)
    expect(matches(['foo'], 'foo/bar/baz')).toBe(true)
    expect(matches(['foo'], 'foobar')).toBe(false)
    expect(matches(['foo/bar'], 'foo/bar/x')).toBe(true)
    expect(matches(['foo/bar'], 'foo')).toBe(false)
  })

  it('keeps * and ? within one component', () => {
    expect(matches(['*.log'], 'a.log')).toBe(true)
    expect(matches(['*.log'], 'dir/a.log')).toBe(false)
    expect(matches(['*/a.log'], 'dir/a.log')).toBe(true)
    expect(matches(['a?c'], 'abc')).toBe(true)
    expect(matches(['a?c'], 'a/c')).toBe(false)
  })

  it('lets ** match any number of components, including none', () => {
    expect(matches(['**/*.log'], 'a.log')).toBe(true)
    expect(matches(['**/*.log'], 'x/y/z/a.log')).toBe(true)
    expect(matches(['**/node_modules'], 'node_modules')).toBe(true)
    expect(matches(['**/node_modules'], 'a/b/node_modules/c')).toBe(true)
    expect(matches(['a/**/b'], 'a/b')).toBe(true)
    expect(matches(['a/**/b'], 'a/x/y/b')).toBe(true)
    expect(matches(['a/**'], 'a/x')).toBe(true)
    expect(matches(['a/**'], 'ab')).toBe(false)
    expect(matches(['**'], 'anything/at/all')).toBe(true)
  })

  it('applies ! exceptions in order, the last applicable pattern winning', () => {
    expect(matches(['*.md', '!README.md'], 'README.md')).toBe(false)
    expect(matches(['*.md', '!README.md'], 'CHANGES.md')).toBe(true)
    expect(matches(['*.md', '!README.md', 'README.md'], 'README.md')).toBe(true)
    expect(matches(['docs', '!docs/keep.txt'], 'docs/keep.txt')).toBe(false)
    expect(matches(['docs', '!docs/keep.txt'], 'docs/other.txt')).toBe(true)
  })

  it('treats character classes and escapes like Go', () => {
    expect(matches(['[ab].txt'], 'a.txt')).toBe(true)
    expect(matches(['[ab].txt'], 'c.txt')).toBe(false)
    expect(matches(['[^a].txt'], 'b.txt')).toBe(true)
    expect(matches(['\\*.txt'], '*.txt')).toBe(true)
    expect(matches(['\\*.txt'], 'a.txt')).toBe(false)
    expect(matches(['a.b'], 'axb')).toBe(false)
    expect(matches(['a+b'], 'a+b')).toBe(true)
    expect(matches(['(x)'], '(x)')).toBe(true)
  })

  it('cleans patterns and ignores blank ones', () => {
    expect(matches(['./a/../b/'], 'b')).toBe(true)
    expect(matches(['', '  '], 'b')).toBe(false)
  })

  it('refuses a lone !', () => {
    expect(() => new PatternMatcher(['!'])).toThrow(/illegal exclusion pattern/)
  })

  it('gives the same answer with parent results as with the full parent check', () => {
    const matcher = new PatternMatcher(['a', '!a/b', 'a/b/c', '**/*.tmp', '!keep/**'])
    const paths = ['a', 'a/b', 'a/b/c', 'a/b/c/d', 'a/b/x', 'a/z', 'keep', 'keep/x.tmp', 'x/y.tmp', 'x']
    const info = new Map<string, boolean[]>()
    for (const path of paths) {
      const parent = path.includes('/') ? info.get(path.slice(0, path.lastIndexOf('/'))) : undefined
      const result = matcher.matchWithParents(path, parent)
      info.set(path, result.info)
      expect(result.matched, path).toBe(matcher.matches(path))
    }
  })
})

describe('parseIgnoreFile', () => {
  it('skips comments and blanks, trims, cleans, and drops a leading slash', () => {
    const text = '\uFEFF# comment\n\n  *.log  \n/build/\n! keep.log\n!/dist/keep\nsub/../other\n'
    expect(parseIgnoreFile(text)).toEqual(['*.log', 'build', '!keep.log', '!dist/keep', 'other'])
  })
})
