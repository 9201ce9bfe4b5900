import { z } from 'zod'
import type { ArtifactKind, SecretArtifact } from './artifacts.js'
import type { ConfigPath } from './errors.js'

/** The marker on a parsed {@link Reference}. A registered symbol, so it survives duplicate installs of core. */
export const REFERENCE: unique symbol = Symbol.for('kiln.core.reference') as never
/** The marker on a secret parsed by {@link secretRef}. */
export const SECRET_REFERENCE: unique symbol = Symbol.for('kiln.core.secret-reference') as never

/** The output a bare `nodeId` reference points at. */
export const DEFAULT_OUTPUT = 'default'

/** What node ids, output names and secret names look like: a letter or `_`, then letters, digits, `_` or `-`. */
export const ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/

const REFERENCE_PATTERN = /^([A-Za-z_][A-Za-z0-9_-]*)(?:\.([A-Za-z_][A-Za-z0-9_-]*))?$/

/**
 * A reference to another node's output, as a node type's `compile` receives it after parsing: the node id, the
 * output name (`default` when the config named only the node) and the kinds the field accepts. Pass it to
 * `ctx.input()` to get the artifact.
 */
export interface Reference<K extends ArtifactKind = ArtifactKind> {
  readonly node: string
  readonly output: string
  /** The kinds the referencing field accepts (an image is accepted where a filesystem is). */
  readonly accepts: readonly K[]
}

/** Anything that names a node output in TypeScript: a node handle, or one of its `.output(name)` handles. */
export interface OutputHandleLike {
  readonly node: { readonly type: string }
  readonly output: string
}

/**
 * What a config may hold where a reference is expected: `"nodeId"`, `"nodeId.output"`, `{ node, output? }`, or (in
 * kiln.ts) a node handle / `handle.output(name)`, which `resolveConfig` turns into the string form.
 */
export type ReferenceInput =
  | string
  | { readonly node: string; readonly output?: string }
  | { readonly type: string; output(name: string): OutputHandleLike }
  | OutputHandleLike

/** The zod schema {@link ref} returns: it parses a {@link ReferenceInput} into a {@link Reference}. */
export type ReferenceSchema<K extends ArtifactKind> = z.ZodType<Reference<K>, ReferenceInput>

/** The zod schema {@link secretRef} returns: a declared secret's name, parsed into a {@link SecretArtifact}. */
export type SecretReferenceSchema = z.ZodType<SecretArtifact, string>

/** Turns `"node"`, `"node.output"` or `{ node, output? }` into `{ node, output }`, or `undefined` if malformed. */
export function parseReference(input: unknown): { node: string; output: string } | undefined {
  if (typeof input === 'string') {
    const match = REFERENCE_PATTERN.exec(input)
    if (match === null) return undefined
    return { node: match[1] as string, output: match[2] ?? DEFAULT_OUTPUT }
  }
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const { node, output, ...rest } = input as { node?: unknown; output?: unknown }
    if (Object.keys(rest).length > 0 || typeof node !== 'string' || !ID_PATTERN.test(node)) return undefined
    if (output === undefined) return { node, output: DEFAULT_OUTPUT }
    if (typeof output !== 'string' || !ID_PATTERN.test(output)) return undefined
    return { node, output }
  }
  return undefined
}

function kindsText(kinds: readonly ArtifactKind[]): string {
  return kinds.length === 1 ? (kinds[0] as string) : kinds.join(' or ')
}

/**
 * A config field that points at another node's output. The graph builder finds every such field in a parsed config,
 * adds an edge, and checks that the output exists and has an accepted kind (an image is accepted where a filesystem
 * is). In YAML a reference is `"nodeId"` (its `default` output), `"nodeId.output"` or `{ node, output }`; in
 * kiln.ts it is a node handle or `handle.output(name)`. For a default reference use `.prefault('node')` (zod's
 * `.default()` skips parsing, so the default would not become a reference).
 *
 * @example
 * ```ts
 * const schema = z.strictObject({
 *   from: ref('image'),
 *   mounts: z.record(z.string(), ref(['filesystem', 'image'])).default({}),
 * })
 * // compile(node, ctx): const base = ctx.input(node.config.from) // ImageArtifact
 * ```
 */
export function ref<const K extends ArtifactKind>(kinds: K | readonly K[], options: { description?: string } = {}): ReferenceSchema<K> {
  const accepts: readonly K[] = Object.freeze(Array.isArray(kinds) ? [...(kinds as readonly K[])] : [kinds as K])
  const expected = `a reference to ${kindsText(accepts)} output ("nodeId" or "nodeId.output")`
  const description = options.description ?? `Reference to another node's ${kindsText(accepts)} output: "nodeId" or "nodeId.output".`
  return z
    .custom<ReferenceInput>((input) => parseReference(input) !== undefined, { error: `Expected ${expected}`, params: { expected } })
    .meta({ description, 'x-kiln-reference': [...accepts] })
    .transform((input) => {
      const { node, output } = parseReference(input) as { node: string; output: string }
      return createReference(node, output, accepts)
    }) as unknown as ReferenceSchema<K>
}

/** Builds a parsed {@link Reference} (what `ref()` yields). Mostly for tests and hand-written configs. */
export function createReference<K extends ArtifactKind>(node: string, output: string = DEFAULT_OUTPUT, accepts: readonly K[] = []): Reference<K> {
  const reference = { node, output, accepts }
  Object.defineProperty(reference, REFERENCE, { value: true })
  return Object.freeze(reference)
}

/** Tells whether a value is a parsed {@link Reference}. */
export function isReference(value: unknown): value is Reference {
  return typeof value === 'object' && value !== null && (value as { [REFERENCE]?: unknown })[REFERENCE] === true
}

/**
 * A config field naming a secret declared under the config's `secrets:`. It parses to a {@link SecretArtifact}
 * (the name only); the graph builder checks the name is declared. The secret's bytes are resolved by the engine
 * session at run time and never enter the config, LLB or events.
 *
 * @example
 * ```ts
 * const schema = z.strictObject({ image: ref('image'), to: z.string(), auth: secretRef().optional() })
 * ```
 */
export function secretRef(options: { description?: string } = {}): SecretReferenceSchema {
  return z
    .string()
    .regex(ID_PATTERN)
    .meta({ description: options.description ?? 'Name of a secret declared under `secrets:`.', 'x-kiln-secret': true })
    .transform((name) => {
      const artifact = { kind: 'secret' as const, name }
      Object.defineProperty(artifact, SECRET_REFERENCE, { value: true })
      return Object.freeze(artifact)
    }) as unknown as SecretReferenceSchema
}

function isSecretReference(value: unknown): value is SecretArtifact {
  return typeof value === 'object' && value !== null && (value as { [SECRET_REFERENCE]?: unknown })[SECRET_REFERENCE] === true
}

/** A reference found in a parsed config, with where it was found. */
export interface ReferenceSite {
  readonly path: ConfigPath
  readonly reference: Reference
}

/** A secret named in a parsed config, with where it was found. */
export interface SecretSite {
  readonly path: ConfigPath
  readonly name: string
}

/**
 * Walks a parsed config (plain objects and arrays, at any depth) and returns every reference and secret that `ref()`
 * and `secretRef()` produced, in document order. This is how edges stay static: they come from the schema, not from
 * running any plugin code.
 */
export function findReferences(config: unknown): { references: ReferenceSite[]; secrets: SecretSite[] } {
  const references: ReferenceSite[] = []
  const secrets: SecretSite[] = []
  const seen = new Set<object>()
  const visit = (value: unknown, path: (string | number)[]): void => {
    if (typeof value !== 'object' || value === null) return
    if (isReference(value)) return void references.push({ path, reference: value })
    if (isSecretReference(value)) return void secrets.push({ path, name: value.name })
    if (seen.has(value)) return
    seen.add(value)
    if (Array.isArray(value)) value.forEach((item, index) => visit(item, [...path, index]))
    else if (value instanceof Map) for (const [key, item] of value) visit(item, [...path, String(key)])
    else if (isPlainObject(value)) for (const [key, item] of Object.entries(value)) visit(item, [...path, key])
  }
  visit(config, [])
  return { references, secrets }
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value) as unknown
  return prototype === Object.prototype || prototype === null
}
