import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { ConfigError, UsageError, type Diagnostic } from '../errors.js'
import { isPlainObject } from './merge.js'
import type { ConfigPath, SourceLocator } from './source-map.js'

export type ParamValue = string | number | boolean

export interface ParamDeclaration {
  default?: ParamValue
  description?: string
}

/** Where parameter values come from, strongest first: `--set`, `KILN_PARAM_<NAME>`, `--params-file`, the default. */
export interface ParamInputs {
  /** `--set key=value`, in the order given (a later one wins). */
  set?: readonly string[]
  env?: Readonly<Record<string, string | undefined>>
  /** Values read from `--params-file`. */
  file?: { name: string; values: Readonly<Record<string, unknown>> }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/

/** `version` → `KILN_PARAM_VERSION`, `image-tag` → `KILN_PARAM_IMAGE_TAG`. */
export function paramEnvName(name: string): string {
  return `KILN_PARAM_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`
}

/** Reads a `--params-file` (YAML or JSON: a map of name to value). */
export async function readParamsFile(path: string): Promise<{ name: string; values: Record<string, unknown> }> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new UsageError(`cannot read --params-file ${path}: ${(error as Error).message}`)
  }
  let values: unknown
  try {
    values = parseYaml(text)
  } catch (error) {
    throw new UsageError(`--params-file ${path} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`)
  }
  if (values === null || values === undefined) values = {}
  if (!isPlainObject(values)) throw new UsageError(`--params-file ${path} must hold a map of parameter names to values`)
  return { name: path, values }
}

/** Parses `params:` of a config: `name: default` or `name: { default, description }`. */
export function parseParamDeclarations(declared: unknown, locator: SourceLocator): Map<string, ParamDeclaration> {
  const result = new Map<string, ParamDeclaration>()
  if (declared === undefined || declared === null) return result
  if (!isPlainObject(declared)) {
    throw new ConfigError([
      { message: 'params must be a map of parameter names', field: 'params', expected: 'a map', received: describe(declared), position: locator.locate(['params']) },
    ])
  }
  const problems: Diagnostic[] = []
  for (const [name, value] of Object.entries(declared)) {
    const at = locator.locate(['params', name])
    if (!NAME.test(name)) {
      problems.push({ message: `invalid parameter name "${name}"`, field: `params.${name}`, expected: 'letters, digits, _ or -', position: at })
    } else if (value === null) {
      result.set(name, {})
    } else if (isScalar(value)) {
      result.set(name, { default: value })
    } else if (isPlainObject(value)) {
      const unknown = Object.keys(value).filter((key) => key !== 'default' && key !== 'description')
      if (unknown.length > 0) {
        problems.push({ message: `unknown key "${unknown[0]}"`, field: `params.${name}.${unknown[0]}`, expected: 'default or description', position: locator.locate(['params', name, unknown[0]!], { key: true }) })
      } else if (value.default !== undefined && !isScalar(value.default)) {
        problems.push({ message: 'invalid default', field: `params.${name}.default`, expected: 'a string, number or boolean', received: describe(value.default), position: locator.locate(['params', name, 'default']) })
      } else {
        result.set(name, {
          ...(value.default === undefined ? {} : { default: value.default as ParamValue }),
          ...(typeof value.description === 'string' ? { description: value.description } : {}),
        })
      }
    } else {
      problems.push({ message: 'invalid parameter', field: `params.${name}`, expected: 'a default value or { default, description }', received: describe(value), position: at })
    }
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return result
}

/**
 * Resolves every declared parameter from the inputs. A value given for an undeclared parameter is an error
 * (a typo in `--set` should not pass silently), and so is a declared parameter without a default nor a value.
 */
export function resolveParams(
  declarations: ReadonlyMap<string, ParamDeclaration>,
  inputs: ParamInputs,
  locator: SourceLocator,
): Record<string, ParamValue> {
  const given = new Map<string, { value: ParamValue; from: string }>()
  for (const [name, value] of Object.entries(inputs.file?.values ?? {})) {
    if (!isScalar(value)) throw new UsageError(`--params-file ${inputs.file?.name}: parameter "${name}" must be a string, number or boolean, received ${describe(value)}`)
    given.set(name, { value, from: `--params-file ${inputs.file?.name}` })
  }
  const env = inputs.env ?? {}
  for (const name of declarations.keys()) {
    const value = env[paramEnvName(name)]
    if (value !== undefined) given.set(name, { value, from: paramEnvName(name) })
  }
  for (const assignment of inputs.set ?? []) {
    const index = assignment.indexOf('=')
    if (index <= 0) throw new UsageError(`--set ${assignment}: expected key=value`)
    given.set(assignment.slice(0, index), { value: assignment.slice(index + 1), from: `--set ${assignment}` })
  }
  const values: Record<string, ParamValue> = {}
  for (const [name, { from }] of given) {
    if (!declarations.has(name)) {
      const known = [...declarations.keys()]
      throw new UsageError(`${from}: unknown parameter "${name}"`, {
        hint: known.length > 0 ? `declared parameters: ${known.join(', ')}` : 'declare it under params: in the config',
      })
    }
  }
  const missing: Diagnostic[] = []
  for (const [name, declaration] of declarations) {
    const value = given.get(name)?.value ?? declaration.default
    if (value === undefined) {
      missing.push({
        message: `parameter "${name}" has no value`,
        field: `params.${name}`,
        position: locator.locate(['params', name]),
        hint: `pass --set ${name}=VALUE or set ${paramEnvName(name)}`,
      })
    } else {
      values[name] = value
    }
  }
  if (missing.length > 0) throw new ConfigError(missing)
  return values
}

const EXPRESSION = /\$\{\{\s*([^}]*?)\s*\}\}/g

/**
 * Replaces `${{ params.NAME }}` in every string of `value`. A string that is exactly one expression takes the
 * parameter's own type (so `replicas: ${{ params.count }}` stays a number when the default is one). Other
 * namespaces (`${{ matrix.shard }}`) are left for the node types; `${{ secrets.x }}` is refused, since secret
 * bytes never go into the graph.
 */
export function interpolate(value: unknown, params: Readonly<Record<string, ParamValue>>, locator: SourceLocator, path: ConfigPath = []): unknown {
  const problems: Diagnostic[] = []
  const result = walk(value, path)
  if (problems.length > 0) throw new ConfigError(problems)
  return result

  function walk(current: unknown, at: ConfigPath): unknown {
    if (typeof current === 'string') return replace(current, at)
    if (Array.isArray(current)) return current.map((item, index) => walk(item, [...at, index]))
    if (isPlainObject(current)) {
      const out: Record<string, unknown> = {}
      for (const [key, item] of Object.entries(current)) out[key] = walk(item, [...at, key])
      return out
    }
    return current
  }

  function replace(text: string, at: ConfigPath): unknown {
    if (!text.includes('${{')) return text
    const whole = /^\$\{\{\s*([^}]*?)\s*\}\}$/.exec(text)
    if (whole) {
      const resolved = lookup(whole[1]!, at)
      if (resolved !== undefined) return resolved
      return text
    }
    return text.replace(EXPRESSION, (match, expression: string) => {
      const resolved = lookup(expression, at)
      return resolved === undefined ? match : String(resolved)
    })
  }

  function lookup(expression: string, at: ConfigPath): ParamValue | undefined {
    const [namespace, ...rest] = expression.split('.')
    const name = rest.join('.')
    const nodeId = at[0] === 'nodes' && typeof at[1] === 'string' ? at[1] : undefined
    const field = nodeId === undefined ? at.join('.') : at.slice(2).join('.')
    if (namespace === 'params') {
      if (Object.hasOwn(params, name)) return params[name]
      const known = Object.keys(params)
      problems.push({
        message: `unknown parameter "${name}" in \${{ ${expression} }}`,
        position: locator.locate(at),
        ...(nodeId === undefined ? {} : { nodeId }),
        field,
        hint: known.length > 0 ? `declared parameters: ${known.join(', ')}` : 'declare it under params: at the top of the config',
      })
      return undefined
    }
    if (namespace === 'secrets') {
      problems.push({
        message: `secrets cannot be interpolated (\${{ ${expression} }}): their values never enter the graph`,
        position: locator.locate(at),
        ...(nodeId === undefined ? {} : { nodeId }),
        field,
        hint: 'give the secret to the node by name (for example secrets: { TOKEN: registry }) so it is mounted at run time',
      })
    }
    return undefined
  }
}

function isScalar(value: unknown): value is ParamValue {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
}

export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a map'
  if (typeof value === 'string') return JSON.stringify(value)
  return String(value)
}
