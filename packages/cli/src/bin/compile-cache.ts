/**
 * Loads a CommonJS bundle through V8's code cache. Node 20 has no compile cache of its own (Node 22's
 * `module.enableCompileCache`), and parsing and compiling the bundled CLI (about 1.5 MB) is most of a short
 * command's CPU. The first run compiles as usual and, once the command is done, saves the code V8 compiled
 * (`createCachedData`, lazily compiled functions included); later runs hand it back to V8, which checks it
 * against its version and flags and compiles from source if it does not fit.
 *
 * The cache file's name carries the bundle's id (a hash of its content written by scripts/bundle.mjs into the
 * bundle's first line), Node's version and the architecture, so a rebuilt bundle or another Node never picks up a
 * stale entry. Writes are atomic (temporary file, then rename); any failure to read or write the cache only costs
 * the compile. Entries unused for 30 days are removed when a new one is written.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { Script } from 'node:vm'

const ID_LINE = /^\/\* kiln-bundle ([0-9a-f]{16,64}) \*\//
const STALE_MS = 30 * 24 * 60 * 60 * 1000

export interface LoadedBundle<T> {
  readonly exports: T
  /** How the code cache was used: `hit` (V8 took it), `miss` (none yet), `rejected` (stale), `off`. */
  readonly cache: 'hit' | 'miss' | 'rejected' | 'off'
  /** The cache file, when caching is on. */
  readonly cacheFile: string | undefined
  /** Saves the compiled code when the cache had no usable entry; never throws. Call it after the work is done. */
  save(): void
}

/**
 * The directory for Kiln's code cache, or undefined when it is turned off (`KILN_NO_COMPILE_CACHE=1`):
 * `$KILN_CACHE_DIR/v8`, else `$XDG_CACHE_HOME/kiln/v8`, else `~/.cache/kiln/v8`.
 */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.KILN_NO_COMPILE_CACHE && env.KILN_NO_COMPILE_CACHE !== '0') return undefined
  if (env.KILN_CACHE_DIR) return join(env.KILN_CACHE_DIR, 'v8')
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache')
  return join(base, 'kiln', 'v8')
}

/** Runs the CommonJS module `file` (its exports are returned) with its compiled code cached in `cacheDir`. */
export function loadBundle<T>(file: string, cacheDir: string | undefined): LoadedBundle<T> {
  const source = readFileSync(file, 'utf8')
  const cacheFile = cacheDir === undefined ? undefined : join(cacheDir, `${bundleId(source)}-${process.version}-${process.arch}.v8`)
  let cachedData: Buffer | undefined
  if (cacheFile !== undefined) {
    try {
      cachedData = readFileSync(cacheFile)
    } catch {
      cachedData = undefined
    }
  }
  // Node's CommonJS wrapper, in strict mode as the bundle's ES module sources were written. The script has no
  // `import()` of its own: restored from the cache, Node 20 would not find its callback. Callers hand one in.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) { 'use strict'; ${source}\n})`, {
    filename: file,
    ...(cachedData === undefined ? {} : { cachedData }),
  })
  const cache = cacheFile === undefined ? 'off' : cachedData === undefined ? 'miss' : script.cachedDataRejected ? 'rejected' : 'hit'
  const module = { exports: {} as T }
  const wrapper = script.runInThisContext() as (exports: T, require: NodeJS.Require, module: { exports: T }, filename: string, dirname: string) => void
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file))
  if (cache === 'hit') touch(cacheFile as string)
  let saved = cache === 'hit' || cache === 'off'
  return {
    exports: module.exports,
    cache,
    cacheFile,
    save() {
      if (saved || cacheFile === undefined) return
      saved = true
      try {
        writeCache(cacheFile, script.createCachedData())
      } catch {
        // A read-only or full disk costs the next run its compile, nothing else.
      }
    },
  }
}

/** The id scripts/bundle.mjs writes into the bundle's first line, or a hash of the source when it has none. */
export function bundleId(source: string): string {
  const match = ID_LINE.exec(source.slice(0, 100))
  return match ? (match[1] as string).slice(0, 32) : createHash('sha256').update(source).digest('hex').slice(0, 32)
}

function writeCache(cacheFile: string, data: Buffer): void {
  const dir = dirname(cacheFile)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const temporary = `${cacheFile}.${process.pid}.tmp`
  try {
    writeFileSync(temporary, data, { mode: 0o600 })
    renameSync(temporary, cacheFile)
  } catch (error) {
    rmSync(temporary, { force: true })
    throw error
  }
  pruneStale(dir, cacheFile)
}

/** Removes entries (and abandoned temporary files) not used for 30 days; the entry just written is kept. */
function pruneStale(dir: string, keep: string): void {
  const now = Date.now()
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (path === keep) continue
    try {
      if (now - statSync(path).mtimeMs > STALE_MS) rmSync(path, { force: true })
    } catch {
      // Another kiln removed it first.
    }
  }
}

/** Marks a cache entry as used (its mtime), so pruning keeps the entries that are still read. */
function touch(cacheFile: string): void {
  try {
    const now = new Date()
    utimesSync(cacheFile, now, now)
  } catch {
    // Not worth failing a command for.
  }
}
