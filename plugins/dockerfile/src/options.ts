import { posix } from 'node:path'

/** The parts of a parsed `dockerfile` config that become frontend options. */
export interface FrontendOptionsInput {
  /** The Dockerfile's name inside the `dockerfile` input. */
  readonly filename: string
  readonly target?: string | undefined
  readonly args: Readonly<Record<string, string>>
  readonly labels: Readonly<Record<string, string>>
  readonly platform?: string | undefined
  readonly noCache: boolean | readonly string[]
  readonly network: 'none' | 'host'
}

/**
 * The `dockerfile.v0` frontend options (wire doc 8) for a config: `filename`, `target`, `build-arg:NAME`,
 * `label:NAME`, `platform`, `no-cache` (empty: every stage; else the stage names) and `force-network-mode`, which
 * is always set because Kiln's engines have no bridge network (`none` unless the node opts in to `host`).
 */
export function frontendOptions(input: FrontendOptionsInput): Record<string, string> {
  const options: Record<string, string> = { filename: input.filename, 'force-network-mode': input.network }
  if (input.target !== undefined) options.target = input.target
  for (const [name, value] of Object.entries(input.args)) options[`build-arg:${name}`] = value
  for (const [name, value] of Object.entries(input.labels)) options[`label:${name}`] = value
  if (input.platform !== undefined) options.platform = input.platform
  if (input.noCache === true) options['no-cache'] = ''
  else if (Array.isArray(input.noCache) && input.noCache.length > 0) options['no-cache'] = input.noCache.join(',')
  return options
}

/**
 * Where the Dockerfile of a local context is: the directory to serve (relative to the context unless absolute) and
 * the file name inside it. `docker build -f` semantics, with the path taken relative to the context directory.
 */
export function dockerfileLocation(contextPath: string, dockerfile: string): { dir: string; filename: string } {
  const full = posix.isAbsolute(dockerfile) ? posix.normalize(dockerfile) : posix.join(contextPath, dockerfile)
  return { dir: posix.dirname(full), filename: posix.basename(full) }
}
