import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync, utimesSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bundleId, compileCacheDir, loadBundle } from './compile-cache.js'


let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-compile-cache-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

function writeBundle(name: string, body: string, id?: string): string {
  const file = join(dir, name)
  writeFileSync(file, `${id === undefined ? '' : `/* kiln-bundle ${id} */\n`}${body}`)
  return file
}

const BODY = `
exports.answer = (x) => x * 2
exports.strict = (function () { return this === undefined })()
exports.dirname = __dirname
exports.filename = __filename
exports.requireWorks = typeof require('node:path').join === 'function'
`

describe('loadBundle', () => {
  it('runs the module, saves the compiled code once, and uses it on the next load', () => {
    const file = writeBundle('bundle.cjs', BODY, 'a'.repeat(64))
    const cacheDir = join(dir, 'cache')
    const first = loadBundle<{ answer(x: number): number; strict: boolean; dirname: string; filename: string; requireWorks: boolean }>(file, cacheDir)
    expect(first.cache).toBe('miss')
    expect(first.exports.answer(21)).toBe(42)
    expect(first.exports.strict).toBe(true)
    expect(first.exports.dirname).toBe(dir)
    expect(first.exports.filename).toBe(file)
    expect(first.exports.requireWorks).toBe(true)
    expect(first.cacheFile).toBe(join(cacheDir, `${'a'.repeat(32)}-${process.version}-${process.arch}.v8`))
    first.save()
    expect(readdirSync(cacheDir)).toEqual([`${'a'.repeat(32)}-${process.version}-${process.arch}.v8`])

    // V8 keeps scripts it compiled in memory by source and name: the same bundle at another path is what a new
    // process looks like to it.
    const second = loadBundle<{ answer(x: number): number }>(writeBundle('same-bundle.cjs', BODY, 'a'.repeat(64)), cacheDir)
    expect(second.cache).toBe('hit')
    expect(second.exports.answer(5)).toBe(10)
  })

  it('compiles from source when the cache entry is not V8 code, and replaces it', () => {
    const file = writeBundle('bundle.cjs', BODY, 'b'.repeat(64))
    const cacheDir = join(dir, 'cache')
    const first = loadBundle(file, cacheDir)
    first.save()
    const cacheFile = first.cacheFile as string
    writeFileSync(cacheFile, 'not a code cache')
    const loaded = loadBundle<{ answer(x: number): number }>(writeBundle('same-bundle.cjs', BODY, 'b'.repeat(64)), cacheDir)
    expect(loaded.cache).toBe('rejected')
    expect(loaded.exports.answer(1)).toBe(2)
    loaded.save()
    expect(readFileSync(cacheFile).toString()).not.toBe('not a code cache')
    expect(loadBundle(writeBundle('third-copy.cjs', BODY, 'b'.repeat(64)), cacheDir).cache).toBe('hit')
  })

  it('keys entries by content: a rebuilt bundle never runs with the old entry', () => {
    const cacheDir = join(dir, 'cache')
    const one = loadBundle(writeBundle('one.cjs', 'exports.v = 1'), cacheDir)
    one.save()
    const two = loadBundle<{ v: number }>(writeBundle('two.cjs', 'exports.v = 2'), cacheDir)
    expect(two.cache).toBe('miss')
    expect(two.exports.v).toBe(2)
    expect(one.cacheFile).not.toBe(two.cacheFile)
  })

  it('runs without a cache directory', () => {
    const loaded = loadBundle<{ answer(x: number): number }>(writeBundle('bundle.cjs', BODY), undefined)
    expect(loaded.cache).toBe('off')
    expect(loaded.cacheFile).toBeUndefined()
    expect(loaded.exports.answer(3)).toBe(6)
  })

  it('never fails a command over the cache: an unwritable directory costs only the compile', () => {
    const blocker = join(dir, 'file-not-dir')
    writeFileSync(blocker, '')
    const loaded = loadBundle<{ answer(x: number): number }>(writeBundle('bundle.cjs', BODY), join(blocker, 'v8'))
    expect(() => loaded.save()).not.toThrow()
    expect(loaded.exports.answer(2)).toBe(4)
  })

  it('removes entries unused for 30 days when it writes one, and keeps recent ones', () => {
    const cacheDir = join(dir, 'cache')
    loadBundle(writeBundle('recent.cjs', 'exports.v = 1'), cacheDir).save()
    const old = join(cacheDir, 'old-entry.v8')
    writeFileSync(old, 'x')
    const longAgo = new Date(Date.now() - 31 * 24 * 60 * 60 * 1000)
    utimesSync(old, longAgo, longAgo)
    loadBundle(writeBundle('new.cjs', 'exports.v = 2'), cacheDir).save()
    expect(readdirSync(cacheDir).sort()).toHaveLength(2)
    expect(readdirSync(cacheDir)).not.toContain('old-entry.v8')
  })

  it('marks an entry as used when it serves a load', () => {
    const cacheDir = join(dir, 'cache')
    const file = writeBundle('bundle.cjs', 'exports.v = 1')
    const first = loadBundle(file, cacheDir)
    first.save()
    const longAgo = new Date(Date.now() - 20 * 24 * 60 * 60 * 1000)
    utimesSync(first.cacheFile as string, longAgo, longAgo)
    loadBundle(file, cacheDir)
    expect(Date.now() - statSync(first.cacheFile as string).mtimeMs).toBeLessThan(60_000)
  })

  it('writes the cache for the user only', () => {
    const cacheDir = join(dir, 'cache')
    const loaded = loadBundle(writeBundle('bundle.cjs', 'exports.v = 1'), cacheDir)
    loaded.save()
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700)
    expect(statSync(loaded.cacheFile as string).mode & 0o777).toBe(0o600)
    chmodSync(cacheDir, 0o700)
  })
})

describe('bundleId', () => {
  it("reads the id scripts/bundle.mjs writes, else hashes the source", () => {
    expect(bundleId(`/* kiln-bundle ${'c'.repeat(64)} */\nexports.v = 1`)).toBe('c'.repeat(32))
    expect(bundleId('exports.v = 1')).toMatch(/^[0-9a-f]{32}$/)
    expect(bundleId('exports.v = 1')).not.toBe(bundleId('exports.v = 2'))
  })
})

describe('compileCacheDir', () => {
  it('follows KILN_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache, and is off with KILN_NO_COMPILE_CACHE', () => {
    expect(compileCacheDir({ KILN_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x' })).toBe('/c/v8')
    expect(compileCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/kiln/v8')
    expect(compileCacheDir({ HOME: '/h' })).toMatch(/\/\.cache\/kiln\/v8$/)
    expect(compileCacheDir({ KILN_NO_COMPILE_CACHE: '1', KILN_CACHE_DIR: '/c' })).toBeUndefined()
    expect(compileCacheDir({ KILN_NO_COMPILE_CACHE: '0', KILN_CACHE_DIR: '/c' })).toBe('/c/v8')
  })
})
