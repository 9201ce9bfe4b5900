import { readFileSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import { decodeDefinition, NetMode, type Definition } from '@kiln/llb'
import { LOCAL_DOCKERIGNORE_KEY, LOCAL_PATH_KEY } from './local.js'

/** A host directory to serve under a local source's name (the shape of `@kiln/buildkit`'s `LocalDir`). */
export interface LocalDirectory {
  /** Absolute path on the host. */
  readonly path: string
  /** Patterns from the directory's `.dockerignore`, when the node honours it and the file exists. */
  readonly excludePatterns?: readonly string[]
}

/** What a marshalled definition needs from the runtime besides secrets. */
export interface DefinitionRequirements {
  /** Host directories by local source name (`local://NAME`). */
  readonly localDirs: Readonly<Record<string, LocalDirectory>>
  /** Entitlements the solve must request (`network.host` for exec ops on the host network). */
  readonly entitlements: readonly string[]
}

/**
 * What the runtime must provide to solve a definition built from std nodes: the host directory behind each `local`
 * source (named after its node; path and `.dockerignore` choice carried in the op's description) and the
 * entitlements its exec ops need. Relative paths resolve against `baseDir`, the config file's directory.
 * Reads `.dockerignore` files, so call it at run time, not while compiling.
 *
 * @example
 * ```ts
 * const definition = toState(target.state).marshal({ caps, localUniqueId })
 * const { localDirs, entitlements } = definitionRequirements(definition, { baseDir: projectDir })
 * // session dirs: localDirs; SolveRequest.Entitlements: entitlements
 * ```
 */
export function definitionRequirements(definition: Definition | Uint8Array, options: { readonly baseDir: string }): DefinitionRequirements {
  const ops = definition instanceof Uint8Array ? decodeDefinition(definition).ops : [...definition.ops.values()]
  const localDirs: Record<string, LocalDirectory> = {}
  const entitlements = new Set<string>()
  for (const { op, metadata } of ops) {
    if (op.exec?.network === NetMode.HOST) entitlements.add('network.host')
    const identifier = op.source?.identifier
    if (identifier === undefined || !identifier.startsWith('local://')) continue
    const path = metadata.description?.[LOCAL_PATH_KEY]
    if (path === undefined) continue
    const name = identifier.slice('local://'.length)
    const absolute = isAbsolute(path) ? path : resolve(options.baseDir, path)
    const ignored = metadata.description?.[LOCAL_DOCKERIGNORE_KEY] === 'true' ? readDockerignore(absolute) : []
    localDirs[name] = { path: absolute, ...(ignored.length > 0 ? { excludePatterns: ignored } : {}) }
  }
  return { localDirs, entitlements: [...entitlements].sort() }
}

/** The patterns of `<dir>/.dockerignore` (none when absent), cleaned as Docker does. */
export function readDockerignore(dir: string): string[] {
  let text: string
  try {
    text = readFileSync(join(dir, '.dockerignore'), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  return parseDockerignore(text)
}

/** Parses `.dockerignore` text: one pattern per line, `#` comments, `!` exceptions, leading `/` dropped. */
export function parseDockerignore(text: string): string[] {
  const result: string[] = []
  for (const raw of text.split(/\r?\n/)) {
    if (raw.startsWith('#')) continue
    let line = raw.trim()
    if (line === '') continue
    const negated = line.startsWith('!')
    if (negated) line = line.slice(1).trim()
    line = cleanPattern(line)
    if (line === '') continue
    result.push(negated ? `!${line}` : line)
  }
  return result
}

function cleanPattern(pattern: string): string {
  const parts: string[] = []
  for (const part of pattern.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') parts.pop()
    else parts.push(part)
  }
  return parts.join('/')
}
