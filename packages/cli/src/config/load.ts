import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { createJiti as CreateJiti } from 'jiti'
import { importModule } from '../dynamic-import.js'
import { ConfigError, UsageError, type Diagnostic, type SourcePosition } from '../errors.js'
import { findConfig, profilePath, type ConfigFormat } from './find.js'
import { deepMerge, isPlainObject } from './merge.js'
import { interpolate, parseParamDeclarations, readParamsFile, resolveParams, type ParamDeclaration, type ParamInputs, type ParamValue } from './params.js'
import { parseSecretDeclarations, SecretStore } from './secrets.js'
import { FileOnlySource, LayeredSource, YamlSource, type SourceLocator } from './source-map.js'

export interface LoadConfigOptions {
  /** The directory to start from (after `-C`). */
  cwd: string
  /** `-f FILE`. */
  file?: string
  /** `--profile NAME` (repeatable; applied in order). */
  profiles?: readonly string[]
  /** `--set key=value`. */
  set?: readonly string[]
  /** `--params-file FILE`. */
  paramsFile?: string
  env?: Readonly<Record<string, string | undefined>>
  /** File names in messages are relative to this directory (default: `process.cwd()`). */
  displayBase?: string
}

/** One `plugins:` entry of the config. */
export interface PluginRequest {
  name: string
  options?: unknown
  position: SourcePosition
}

export interface LoadedConfig {
  /** Absolute path of the main config file. */
  path: string
  /** The name shown in messages (`kiln.yaml`, `examples/hello/kiln.yaml`). */
  displayPath: string
  format: ConfigFormat
  /** The project directory (the config's directory); plugins and relative paths resolve from here. */
  projectDir: string
  /** The config after overlays and `${{ params.* }}` interpolation. */
  config: Record<string, unknown>
  /** Raw nodes by id, as written (after interpolation). */
  nodes: Record<string, unknown>
  params: Record<string, ParamValue>
  /** The declared params (`params:` or kiln.ts's `params` export). */
  paramDeclarations: Record<string, ParamDeclaration>
  plugins: PluginRequest[]
  secrets: SecretStore
  /** Severity overrides for policy rules (`policies:`). */
  policies: Record<string, 'warn' | 'deny' | 'off'>
  locator: SourceLocator
}

const TOP_LEVEL = new Set(['$schema', 'version', 'plugins', 'params', 'secrets', 'nodes', 'policies'])

/**
 * Loads kiln.yaml or kiln.ts with its profiles and params. Every problem becomes a `ConfigError` whose diagnostics
 * carry file:line:column; secrets are declared here but read only at run time.
 */
export async function loadConfig(options: LoadConfigOptions): Promise<LoadedConfig> {
  const found = findConfig(options.cwd, options.file)
  const env = options.env ?? process.env
  const display = (path: string) => relative(options.displayBase ?? process.cwd(), path) || path
  const paramInputs: ParamInputs = {
    set: options.set ?? [],
    env,
    ...(options.paramsFile === undefined ? {} : { file: await readParamsFile(options.paramsFile) }),
  }

  const overlays: YamlSource[] = []
  for (const profile of options.profiles ?? []) {
    const path = profilePath(found.path, profile)
    if (!existsSync(path)) throw new UsageError(`profile "${profile}": ${display(path)} does not exist`)
    overlays.push(YamlSource.parse(display(path), await readFile(path, 'utf8')))
  }

  let raw: unknown
  let locator: SourceLocator
  let params: Record<string, ParamValue>
  let declarations: Map<string, ParamDeclaration>
  if (found.format === 'yaml') {
    const base = YamlSource.parse(display(found.path), await readFile(found.path, 'utf8'))
    raw = overlays.reduce<unknown>((merged, overlay) => deepMerge(merged, overlay.value), base.value)
    locator = overlays.length === 0 ? base : new LayeredSource([...overlays].reverse().concat(base))
    if (raw === null || raw === undefined) raw = {}
    if (!isPlainObject(raw)) {
      throw new ConfigError([{ message: 'a config is a map with nodes:', expected: 'a map', received: Array.isArray(raw) ? 'a list' : typeof raw, position: locator.locate([]) }])
    }
    declarations = parseParamDeclarations(raw.params, locator)
    params = resolveParams(declarations, paramInputs, locator)
  } else {
    locator = overlays.length === 0 ? new FileOnlySource(display(found.path)) : new LayeredSource(overlays)
    const evaluated = await evaluateTsConfig(found.path, display(found.path), paramInputs, options.profiles ?? [], locator)
    raw = overlays.reduce<unknown>((merged, overlay) => deepMerge(merged, overlay.value), evaluated.config)
    params = evaluated.params
    declarations = evaluated.declarations
  }
  const config = raw as Record<string, unknown>

  const unknownKeys = Object.keys(config).filter((key) => !TOP_LEVEL.has(key))
  if (unknownKeys.length > 0) {
    throw new ConfigError(
      unknownKeys.map((key) => ({
        message: `unknown top-level key "${key}"`,
        expected: [...TOP_LEVEL].filter((name) => name !== '$schema').join(', '),
        position: locator.locate([key], { key: true }),
        ...(key === 'node' || key === 'steps' || key === 'jobs' ? { hint: 'nodes go under nodes:' } : {}),
      })),
    )
  }

  const interpolated = { ...config }
  for (const key of Object.keys(config)) {
    if (key === 'params' || key === 'secrets') continue
    interpolated[key] = interpolate(config[key], params, locator, [key])
  }

  const nodes = interpolated.nodes ?? {}
  if (!isPlainObject(nodes)) {
    throw new ConfigError([{ message: 'nodes must be a map of node ids', field: 'nodes', expected: 'a map', received: Array.isArray(nodes) ? 'a list' : typeof nodes, position: locator.locate(['nodes']) }])
  }
  const secrets = new SecretStore(parseSecretDeclarations(config.secrets, locator), { env, baseDir: found.dir })
  const policies = parsePolicySeverities(interpolated.policies, locator)

  return {
    path: found.path,
    displayPath: display(found.path),
    format: found.format,
    projectDir: found.dir,
    config: interpolated,
    nodes,
    params,
    paramDeclarations: Object.fromEntries(declarations),
    plugins: parsePluginList(interpolated.plugins, locator),
    secrets,
    policies,
    locator,
  }
}

/** `policies: { rule: warn | deny | off }`: severity overrides for policy rules (a plugin's rule names). */
function parsePolicySeverities(value: unknown, locator: SourceLocator): Record<string, 'warn' | 'deny' | 'off'> {
  if (value === undefined || value === null) return {}
  if (!isPlainObject(value)) {
    throw new ConfigError([{ message: 'policies must be a map of rule names to severities', field: 'policies', expected: 'a map like { images.pinned: warn }', received: Array.isArray(value) ? 'a list' : typeof value, position: locator.locate(['policies']) }])
  }
  const problems: Diagnostic[] = []
  const result: Record<string, 'warn' | 'deny' | 'off'> = {}
  for (const [rule, severity] of Object.entries(value)) {
    if (severity === 'warn' || severity === 'deny' || severity === 'off') result[rule] = severity
    else problems.push({ message: `invalid severity for rule "${rule}"`, field: `policies.${rule}`, expected: 'warn, deny or off', received: JSON.stringify(severity) ?? String(severity), position: locator.locate(['policies', rule]) })
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return result
}

function parsePluginList(value: unknown, locator: SourceLocator): PluginRequest[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) {
    throw new ConfigError([{ message: 'plugins must be a list', field: 'plugins', expected: 'a list of package names or { name, options }', received: typeof value, position: locator.locate(['plugins']) }])
  }
  const problems: Diagnostic[] = []
  const requests: PluginRequest[] = []
  value.forEach((entry: unknown, index) => {
    const position = locator.locate(['plugins', index])
    if (typeof entry === 'string' && entry !== '') requests.push({ name: entry, position })
    else if (isPlainObject(entry) && typeof entry.name === 'string' && entry.name !== '') {
      requests.push({ name: entry.name, ...(entry.options === undefined ? {} : { options: entry.options }), position })
    } else if (typeof entry === 'object' && entry !== null && !Array.isArray(entry) && 'meta' in entry && 'apiVersion' in entry) {
      // kiln.ts may list plugin objects directly: plugins: [dockerPlugin()].
      requests.push({ name: '', options: entry, position })
    } else {
      problems.push({ message: 'invalid plugin entry', field: `plugins.${index}`, expected: 'a package name or { name, options }', received: JSON.stringify(entry) ?? String(entry), position })
    }
  })
  if (problems.length > 0) throw new ConfigError(problems)
  return requests
}

interface TsModule {
  default?: unknown
  params?: unknown
}

/**
 * kiln.ts: the default export is `defineConfig(...)` (a config object, or a function of `{ params }` returning one or
 * a nodes map), resolved with core's `resolveConfig`: node handles become ids, `params.NAME` becomes
 * `${{ params.NAME }}`, interpolated afterwards exactly as in YAML. Params may also be declared in a named `params`
 * export.
 */
async function evaluateTsConfig(
  path: string,
  displayPath: string,
  inputs: ParamInputs,
  _profiles: readonly string[],
  locator: SourceLocator,
): Promise<{ config: Record<string, unknown>; params: Record<string, ParamValue>; declarations: Map<string, ParamDeclaration> }> {
  let module: TsModule
  try {
    const { createJiti } = await importModule<{ createJiti: typeof CreateJiti }>('jiti')
    const jiti = createJiti(pathToFileURL(path).href, { interopDefault: false, moduleCache: false, fsCache: false })
    module = (await jiti.import(path)) as TsModule
  } catch (error) {
    throw new ConfigError([{ message: `cannot load: ${firstLine(error)}`, position: { file: displayPath } }], { cause: error })
  }
  const exported = module.default
  if (exported === undefined || exported === null || (typeof exported !== 'object' && typeof exported !== 'function')) {
    throw new ConfigError([{ message: 'the default export must be defineConfig(...): a config object or a function returning one', received: exported === undefined ? 'no default export' : typeof exported, position: { file: displayPath } }])
  }
  const { resolveConfig } = await import('@kiln/core')
  let config: Record<string, unknown>
  try {
    config = { ...((await resolveConfig(exported as Parameters<typeof resolveConfig>[0])) as unknown as Record<string, unknown>) }
  } catch (error) {
    throw new ConfigError([{ message: `the config could not be resolved: ${firstLine(error)}`, position: { file: displayPath } }], { cause: error })
  }
  const declared = config.params ?? module.params
  const declarations = parseParamDeclarations(declared, locator)
  if (declared !== undefined) config.params = declared
  const params = resolveParams(declarations, inputs, locator)
  return { config, params, declarations }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.split('\n')[0] ?? message
}
