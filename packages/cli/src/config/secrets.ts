import { readFile } from 'node:fs/promises'
import { resolve as resolvePath } from 'node:path'
import { ConfigError, type Diagnostic, type SourcePosition } from '../errors.js'
import { describe } from './params.js'
import { isPlainObject } from './merge.js'
import type { SourceLocator } from './source-map.js'

/** Where a secret's bytes come from, declared under `secrets:` at the top of the config. */
export type SecretDeclaration = { env: string } | { file: string }

interface Declared {
  declaration: SecretDeclaration
  position: SourcePosition
}

/** Parses `secrets:`; each entry is `{ env: NAME }` or `{ file: path }`. Nothing is read here. */
export function parseSecretDeclarations(declared: unknown, locator: SourceLocator): Map<string, Declared> {
  const result = new Map<string, Declared>()
  if (declared === undefined || declared === null) return result
  if (!isPlainObject(declared)) {
    throw new ConfigError([{ message: 'secrets must be a map', field: 'secrets', expected: 'a map of secret names', received: describe(declared), position: locator.locate(['secrets']) }])
  }
  const problems: Diagnostic[] = []
  for (const [name, value] of Object.entries(declared)) {
    const position = locator.locate(['secrets', name])
    const keys = isPlainObject(value) ? Object.keys(value) : []
    const source = keys.length === 1 && isPlainObject(value) ? keys[0]! : undefined
    if ((source === 'env' || source === 'file') && isPlainObject(value) && typeof value[source] === 'string' && value[source] !== '') {
      result.set(name, { declaration: (source === 'env' ? { env: value[source] } : { file: value[source] }) as SecretDeclaration, position })
    } else {
      problems.push({
        message: `invalid secret "${name}"`,
        field: `secrets.${name}`,
        expected: '{ env: VARIABLE } or { file: path }',
        received: isPlainObject(value) ? `{ ${keys.join(', ')} }` : describe(value),
        position,
      })
    }
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return result
}

export interface SecretStoreOptions {
  env?: Readonly<Record<string, string | undefined>>
  /** Relative `file:` paths are taken from here (the directory of the config). */
  baseDir: string
  readFile?: (path: string) => Promise<Uint8Array>
}

/**
 * The secrets a config declares. Values are read only at run time (`resolve`), never while loading, planning or
 * drawing the graph; a missing one is a config error pointing at its declaration.
 */
export class SecretStore {
  private readonly env: Readonly<Record<string, string | undefined>>
  private readonly baseDir: string
  private readonly read: (path: string) => Promise<Uint8Array>
  private readonly resolved = new Map<string, Uint8Array>()

  constructor(
    private readonly declarations: ReadonlyMap<string, Declared>,
    options: SecretStoreOptions,
  ) {
    this.env = options.env ?? process.env
    this.baseDir = options.baseDir
    this.read = options.readFile ?? ((path) => readFile(path))
  }

  names(): string[] {
    return [...this.declarations.keys()]
  }

  has(name: string): boolean {
    return this.declarations.has(name)
  }

  positionOf(name: string): SourcePosition | undefined {
    return this.declarations.get(name)?.position
  }

  /** Reads the named secrets (all declared ones by default); every missing one is reported at once. */
  async resolve(names: Iterable<string> = this.declarations.keys()): Promise<ReadonlyMap<string, Uint8Array>> {
    const problems: Diagnostic[] = []
    for (const name of new Set(names)) {
      if (this.resolved.has(name)) continue
      const declared = this.declarations.get(name)
      if (!declared) {
        problems.push({ message: `secret "${name}" is not declared`, hint: `declare it under secrets: (for example ${name}: { env: ${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')} })` })
        continue
      }
      const { declaration, position } = declared
      if ('env' in declaration) {
        const value = this.env[declaration.env]
        if (value === undefined || value === '') {
          problems.push({ message: `secret "${name}" is missing: environment variable ${declaration.env} is not set`, field: `secrets.${name}`, position, hint: `export ${declaration.env}=...` })
        } else {
          this.resolved.set(name, new TextEncoder().encode(value))
        }
      } else {
        const path = resolvePath(this.baseDir, declaration.file)
        try {
          this.resolved.set(name, await this.read(path))
        } catch (error) {
          const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as Error).message})`
          problems.push({ message: `secret "${name}" is missing: file ${declaration.file} ${reason}`, field: `secrets.${name}`, position })
        }
      }
    }
    if (problems.length > 0) throw new ConfigError(problems)
    return new Map([...new Set(names)].flatMap((name) => {
      const value = this.resolved.get(name)
      return value === undefined ? [] : [[name, value] as const]
    }))
  }

  /** The values read so far, as text, for redaction. */
  resolvedValues(): string[] {
    return [...this.resolved.values()].map((bytes) => new TextDecoder().decode(bytes)).filter((value) => value.length > 0)
  }
}
