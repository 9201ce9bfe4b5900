import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { delimiter, dirname, join, resolve as resolvePath } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError, type Diagnostic, type SourcePosition } from '../errors.js'
import type { PluginRequest } from '../config/load.js'
import { importModule } from '../dynamic-import.js'

/** The package-name shapes that make a dependency a Kiln plugin. */
const PLUGIN_NAME = /^(?:@kiln\/plugin-[a-z0-9._-]+|kiln-plugin-[a-z0-9._-]+|@[a-z0-9._-]+\/kiln-plugin-[a-z0-9._-]+)$/

export function isPluginPackageName(name: string): boolean {
  return PLUGIN_NAME.test(name)
}

/** One plugin to load: a package (found in dependencies or listed in the config), or a plugin object from kiln.ts. */
export interface PluginSource {
  /** Package name; empty for an object given inline in kiln.ts. */
  name: string
  options?: unknown
  /** Where the config lists it; absent for plugins found in package.json or built in. */
  position?: SourcePosition
  /** `dependency` (package.json), `config` (plugins: list), `builtin` (shipped with the CLI). */
  origin: 'dependency' | 'config' | 'builtin'
  /** A plugin object (kiln.ts `plugins: [dockerPlugin()]`); no import needed. */
  plugin?: unknown
}

/** The plugin packages named in the project's package.json (dependencies, devDependencies, optionalDependencies). */
export function pluginsFromPackageJson(projectDir: string): string[] {
  const path = findUp(projectDir, 'package.json')
  if (path === undefined) return []
  let manifest: Record<string, unknown>
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>
  } catch {
    return []
  }
  const names = new Set<string>()
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    const dependencies = manifest[field]
    if (typeof dependencies !== 'object' || dependencies === null) continue
    for (const name of Object.keys(dependencies)) if (isPluginPackageName(name)) names.add(name)
  }
  return [...names].sort()
}

/**
 * Everything to load, without duplicates: the built-in plugins first, then the project's plugin dependencies, then
 * the config's `plugins:` list (whose options win for a package named twice).
 */
export function collectPluginSources(options: { builtin: readonly string[]; projectDir: string; requests: readonly PluginRequest[] }): PluginSource[] {
  const sources = new Map<string, PluginSource>()
  for (const name of options.builtin) sources.set(name, { name, origin: 'builtin' })
  for (const name of pluginsFromPackageJson(options.projectDir)) if (!sources.has(name)) sources.set(name, { name, origin: 'dependency' })
  const inline: PluginSource[] = []
  for (const request of options.requests) {
    if (request.name === '') {
      inline.push({ name: '', plugin: request.options, position: request.position, origin: 'config' })
      continue
    }
    const existing = sources.get(request.name)
    sources.set(request.name, {
      name: request.name,
      origin: existing?.origin === 'builtin' ? 'builtin' : 'config',
      position: request.position,
      ...(request.options === undefined ? {} : { options: request.options }),
    })
  }
  return [...sources.values(), ...inline]
}

/** How a package is turned into a module: resolution from a directory, then import. Swappable in tests. */
export interface ModuleLoader {
  /** Absolute path of the package's entry, or undefined when it is not installed. */
  resolve(name: string, fromDir: string): string | undefined
  import(path: string): Promise<unknown>
  /** The version in the package.json of a package whose entry `resolve` returned. */
  version?(path: string): string | undefined
}

/** Plugin code the CLI carries itself, by package name, and the package version it was built from. */
export type BuiltinPluginModules = Readonly<Record<string, { version: string; load: () => Promise<unknown> }>>

/**
 * Node's resolution from the project directory (createRequire's search paths), reading the package's `exports`
 * with import conditions. When the CLI itself runs from TypeScript sources (the workspace), the `@kiln/source`
 * condition is honoured too, so workspace plugins load from `src/`.
 */
export class NodeModuleLoader implements ModuleLoader {
  private readonly conditions: readonly string[]
  private readonly versions = new Map<string, string | undefined>()

  constructor(options: { sourceCondition?: boolean } = {}) {
    const fromSource = options.sourceCondition ?? import.meta.url.endsWith('.ts')
    this.conditions = fromSource ? ['@kiln/source', 'import', 'node', 'default'] : ['import', 'node', 'default']
  }

  resolve(name: string, fromDir: string): string | undefined {
    // Node's node_modules lookup from the directory upwards, without global folders (NODE_PATH, ~/.node_modules):
    // a plugin counts as installed only when the project can see it.
    const require = createRequire(join(resolvePath(fromDir), 'noop.js'))
    const globals = new Set(globalPaths())
    const searchPaths = (require.resolve.paths(name) ?? []).filter((path) => !globals.has(path))
    for (const base of searchPaths) {
      const packageDir = join(base, name)
      const manifestPath = join(packageDir, 'package.json')
      if (!existsSync(manifestPath)) continue
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { exports?: unknown; main?: string; module?: string; version?: unknown }
      const entry = resolveExport(manifest.exports, this.conditions) ?? manifest.module ?? manifest.main ?? 'index.js'
      const path = resolvePath(packageDir, entry)
      if (!existsSync(path)) return undefined
      this.versions.set(path, typeof manifest.version === 'string' ? manifest.version : undefined)
      return path
    }
    return undefined
  }

  async import(path: string): Promise<unknown> {
    return importModule(pathToFileURL(path).href)
  }

  version(path: string): string | undefined {
    return this.versions.get(path)
  }
}

function globalPaths(): string[] {
  const fromEnv = (process.env.NODE_PATH ?? '').split(delimiter).filter(Boolean).map((path) => resolvePath(path))
  const home = homedir()
  return [...fromEnv, join(home, '.node_modules'), join(home, '.node_libraries'), resolvePath(process.execPath, '..', '..', 'lib', 'node')]
}

function resolveExport(exports: unknown, conditions: readonly string[]): string | undefined {
  if (exports === undefined || exports === null) return undefined
  if (typeof exports === 'string') return exports
  if (Array.isArray(exports)) {
    for (const item of exports) {
      const found = resolveExport(item, conditions)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (typeof exports !== 'object') return undefined
  const record = exports as Record<string, unknown>
  const keys = Object.keys(record)
  if (keys.some((key) => key.startsWith('.'))) return resolveExport(record['.'], conditions)
  for (const key of keys) {
    if (key === 'types') continue
    if (conditions.includes(key)) {
      const found = resolveExport(record[key], conditions)
      if (found !== undefined) return found
    }
  }
  return undefined
}

/** A loaded plugin with where it came from. */
export interface LoadedPlugin {
  /** The package name (or the plugin's meta.name for an inline one). */
  name: string
  plugin: unknown
  source: PluginSource
}

/**
 * Resolves each plugin from the project directory (built-ins from the CLI's own directory as a fallback) and calls
 * its default export with the options. Every missing plugin is reported at once, naming the package to install.
 */
export async function loadPlugins(
  sources: readonly PluginSource[],
  options: { projectDir: string; cliDir: string; loader?: ModuleLoader; configFile: string; optionalBuiltins?: boolean; builtinModules?: BuiltinPluginModules },
): Promise<LoadedPlugin[]> {
  const loader = options.loader ?? new NodeModuleLoader()
  const problems: Diagnostic[] = []
  const loaded: LoadedPlugin[] = []
  for (const source of sources) {
    if (source.plugin !== undefined) {
      const meta = (source.plugin as { meta?: { name?: unknown } }).meta
      loaded.push({ name: typeof meta?.name === 'string' ? meta.name : '(inline plugin)', plugin: source.plugin, source })
      continue
    }
    const path = loader.resolve(source.name, options.projectDir) ?? (source.origin === 'builtin' ? loader.resolve(source.name, options.cliDir) : undefined)
    const position = source.position ?? { file: source.origin === 'dependency' ? 'package.json' : options.configFile }
    if (path === undefined && source.origin === 'builtin' && options.optionalBuiltins) continue
    if (path === undefined) {
      problems.push({
        message: `plugin "${source.name}" is not installed`,
        position,
        hint: `install it in ${options.projectDir}: npm install --save-dev ${source.name} (or pnpm add -D ${source.name})`,
      })
      continue
    }
    let module: unknown
    // The package the project resolves is the very version the CLI carries: use the CLI's copy (already loaded with
    // the bundled binary) rather than importing the same code, and a second core, from node_modules.
    const carried = options.builtinModules?.[source.name]
    const version = carried ? loader.version?.(path) : undefined
    try {
      module = carried !== undefined && version !== undefined && version === carried.version ? await carried.load() : await loader.import(path)
    } catch (error) {
      problems.push({ message: `plugin "${source.name}" failed to load: ${firstLine(error)}`, position })
      continue
    }
    const exported = (module as { default?: unknown }).default ?? module
    let plugin: unknown
    try {
      plugin = typeof exported === 'function' ? await (exported as (options: unknown) => unknown)(source.options) : exported
    } catch (error) {
      problems.push({ message: `plugin "${source.name}" rejected its options: ${firstLine(error)}`, position })
      continue
    }
    if (typeof plugin !== 'object' || plugin === null || !('meta' in plugin)) {
      problems.push({
        message: `"${source.name}" is not a Kiln plugin`,
        position,
        expected: 'a default export returning definePlugin({ meta, apiVersion, nodeTypes })',
        received: plugin === null ? 'null' : typeof plugin,
      })
      continue
    }
    loaded.push({ name: source.name, plugin, source })
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return loaded
}

/** Suggests the package that provides a kind: `deploy.push` → `@kiln/plugin-deploy`. */
export function suggestPluginFor(kind: string): string | undefined {
  const prefix = kind.includes('.') ? kind.slice(0, kind.indexOf('.')) : kind
  const known: Record<string, string> = {
    dockerfile: '@kiln/plugin-dockerfile',
    deploy: '@kiln/plugin-deploy',
    policy: '@kiln/plugin-policy',
  }
  return known[prefix]
}

function findUp(dir: string, name: string): string | undefined {
  let current = resolvePath(dir)
  for (;;) {
    const candidate = join(current, name)
    if (existsSync(candidate)) return candidate
    const parent = dirname(current)
    if (parent === current) return undefined
    current = parent
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.split('\n')[0] ?? message
}
