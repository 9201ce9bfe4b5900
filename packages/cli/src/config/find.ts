import { existsSync, statSync } from 'node:fs'
import { basename, dirname, extname, join, resolve } from 'node:path'
import { UsageError } from '../errors.js'

export const CONFIG_NAMES = ['kiln.ts', 'kiln.mts', 'kiln.yaml', 'kiln.yml'] as const

export type ConfigFormat = 'yaml' | 'ts'

export interface FoundConfig {
  /** Absolute path. */
  path: string
  format: ConfigFormat
  /** The project directory: where the config is. */
  dir: string
}

export function formatOf(path: string): ConfigFormat {
  const extension = extname(path)
  if (extension === '.yaml' || extension === '.yml' || extension === '.json') return 'yaml'
  if (['.ts', '.mts', '.cts', '.js', '.mjs'].includes(extension)) return 'ts'
  throw new UsageError(`${path}: unknown config format "${extension}"`, { hint: 'use kiln.yaml or kiln.ts' })
}

/**
 * Finds the config: `-f FILE` if given, else `kiln.ts` or `kiln.yaml` in `cwd` or the nearest parent directory.
 */
export function findConfig(cwd: string, file?: string): FoundConfig {
  if (file !== undefined) {
    const path = resolve(cwd, file)
    if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`config file ${file} does not exist`)
    return { path, format: formatOf(path), dir: dirname(path) }
  }
  let dir = resolve(cwd)
  for (;;) {
    const present = CONFIG_NAMES.filter((name) => existsSync(join(dir, name)))
    if (present.length > 1) {
      throw new UsageError(`${dir} has both ${present.join(' and ')}`, { hint: 'keep one, or pick one with -f FILE' })
    }
    if (present.length === 1) {
      const path = join(dir, present[0]!)
      return { path, format: formatOf(path), dir }
    }
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  throw new UsageError(`no kiln.yaml or kiln.ts in ${resolve(cwd)} or its parents`, {
    hint: 'run `kiln init` to write a starter kiln.yaml, or pass -f FILE',
  })
}

/** `kiln.yaml` + profile `ci` → `kiln.ci.yaml` (beside it). A kiln.ts takes YAML overlays too. */
export function profilePath(configPath: string, profile: string): string {
  const base = basename(configPath).replace(/\.(ya?ml|m?ts|json)$/, '')
  return join(dirname(configPath), `${base}.${profile}.yaml`)
}
