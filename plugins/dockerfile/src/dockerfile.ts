import { isAbsolute, resolve } from 'node:path'
import {
  createNodeFactory,
  defineNodeType,
  imageArtifact,
  isStateLike,
  NodeConfigError,
  ref,
  secretRef,
  z,
  type CompileContext,
  type FilesystemArtifact,
  type ImageArtifact,
  type StateLike,
} from '@kiln/core'
import { isState, local, mkfile, parsePlatform, scratch, type State } from '@kiln/llb'
import { frontendSecrets, withSecretIds } from './secrets.js'
import { dockerfileLocation, frontendOptions } from './options.js'

/** The op description keys a local source carries for the runtime (the same keys plugin-std's `local` uses). */
export const LOCAL_PATH_KEY = 'kiln.local.path'
export const LOCAL_DOCKERIGNORE_KEY = 'kiln.local.dockerignore'

/** BuildKit's built-in Dockerfile frontend. */
export const DOCKERFILE_FRONTEND = 'dockerfile.v0'

const ID = /^[A-Za-z_][A-Za-z0-9_-]*$/
const stringish = z.union([z.string(), z.number(), z.boolean()]).transform((value) => String(value))

/** A context written as a path: it starts with `.` or `/`, or has a `/` in it (`.`, `./app`, `docker/app`, `/abs`). */
const contextPath = z
  .string()
  .min(1)
  .refine((value) => value.startsWith('.') || value.startsWith('/') || value.includes('/'), {
    error: 'Expected a context path',
    params: { expected: 'a directory path starting with "." or "/" or containing "/" ("." , "./app"); a bare name is a node reference' },
  })
  .transform((path) => ({ path }))

const contextSchema = z
  .union([
    contextPath,
    z.strictObject({ path: z.string().min(1).meta({ description: "The host directory, relative to the config file's directory (or absolute)." }) }),
    ref(['filesystem', 'image'], { description: 'Another node\'s output as the context: "nodeId" or "nodeId.output".' }),
  ])
  .meta({
    description:
      'The build context: a host directory ("." , "./app", { path: "app" }) sent through the session with its .dockerignore applied, or another node\'s output ("src", "build.out"). A bare name is a node reference.',
  })

const schema = z
  .strictObject({
    context: contextSchema,
    dockerfile: z.string().min(1).optional().meta({ description: 'The Dockerfile, relative to the context (default "Dockerfile").' }),
    inline: z.string().min(1).optional().meta({ description: 'The Dockerfile text itself, instead of a file.' }),
    target: z.string().min(1).optional().meta({ description: 'The stage to build (default: the last one).' }),
    args: z.record(z.string().min(1), stringish).default({}).meta({ description: 'Build arguments (ARG): { VERSION: "1.2.3" }.' }),
    labels: z.record(z.string().min(1), stringish).default({}).meta({ description: 'Labels added to the image.' }),
    platform: z
      .string()
      .refine(
        (value) => {
          try {
            parsePlatform(value)
            return true
          } catch {
            return false
          }
        },
        { error: 'Expected a platform', params: { expected: 'a platform as "os/arch[/variant]" (linux/amd64)' } },
      )
      .optional()
      .meta({ description: 'Target platform, "os/arch[/variant]" (default: the engine\'s).' }),
    secrets: z
      .record(z.string().min(1), secretRef({ description: 'A secret declared under `secrets:`.' }))
      .default({})
      .meta({ description: 'Secrets for `RUN --mount=type=secret,id=ID`, by id: { npmrc: npm_token } gives the declared secret npm_token to id npmrc.' }),
    ssh: z
      .union([z.boolean(), z.array(z.string().regex(ID)).min(1)])
      .default(false)
      .meta({ description: 'Allow `RUN --mount=type=ssh`: true for the default agent, or the ssh ids allowed (default false).' }),
    noCache: z
      .union([z.boolean(), z.array(z.string().min(1)).min(1)])
      .default(false)
      .meta({ description: 'Build without the cache: true for every stage, or the stage names.' }),
    network: z
      .enum(['none', 'host'])
      .default('none')
      .meta({ description: 'Network of RUN steps: "none" (default, hermetic) or "host" (needs the network.host entitlement).' }),
  })
  .superRefine((config, ctx) => {
    if (config.inline !== undefined && config.dockerfile !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['inline'], message: 'Expected either dockerfile or inline, received both', params: { expected: 'either `dockerfile` (a path) or `inline` (the text), not both' } })
    }
  })
  .meta({ description: "Builds a Dockerfile with BuildKit's dockerfile.v0 frontend. The image (filesystem and config) feeds other nodes." })

/** The config of a `dockerfile` node, as written. */
export type DockerfileNodeConfig = z.input<typeof schema>
type ParsedConfig = z.output<typeof schema>

/** Options of {@link createDockerfileType}. */
export interface DockerfileTypeOptions {
  /** The directory relative context paths resolve against. Without it they stay relative, for the runtime. */
  readonly baseDir?: string
}

function asState(state: StateLike, what: string): State {
  if (!isState(state)) throw new TypeError(`Expected ${what} to be an LLB State from @kiln/llb, received ${state === null ? 'null' : typeof state}`)
  return state
}

function asStateLike(state: State): StateLike {
  if (!isStateLike(state)) throw new TypeError('Expected an llb State to carry the kiln.llb.state marker')
  return state
}

/** The `context` and `dockerfile` inputs of the frontend and the Dockerfile's name in the latter. */
function frontendInputs(node: { id: string; config: ParsedConfig }, ctx: CompileContext, baseDir: string | undefined): { inputs: Record<string, StateLike>; filename: string; label: string } {
  const { context, dockerfile, inline } = node.config
  const inlineInput = (): StateLike => asStateLike(scratch().file(mkfile('/Dockerfile', inline ?? '', { mode: 0o644 }), { customName: `[${node.id}] inline Dockerfile` }))
  if ('path' in context) {
    const served = baseDir === undefined || isAbsolute(context.path) ? context.path : resolve(baseDir, context.path)
    // The frontend takes the context as an input: a local source the run's session serves, with .dockerignore applied
    // by the sender (as docker build does), so the returned LLB rebuilds anywhere the session is.
    const contextState = local(`${node.id}.context`, {
      sharedKeyHint: `${node.id}.context`,
      customName: `[${node.id}] context ${context.path}`,
      description: { [LOCAL_PATH_KEY]: served, [LOCAL_DOCKERIGNORE_KEY]: 'true' },
    })
    if (inline !== undefined) return { inputs: { context: asStateLike(contextState), dockerfile: inlineInput() }, filename: 'Dockerfile', label: `${context.path} (inline Dockerfile)` }
    const location = dockerfileLocation(served, dockerfile ?? 'Dockerfile')
    const dockerfileState = local(`${node.id}.dockerfile`, {
      followPaths: [location.filename],
      sharedKeyHint: `${node.id}.dockerfile`,
      customName: `[${node.id}] ${location.filename}`,
      description: { [LOCAL_PATH_KEY]: location.dir, [LOCAL_DOCKERIGNORE_KEY]: 'false' },
    })
    return { inputs: { context: asStateLike(contextState), dockerfile: asStateLike(dockerfileState) }, filename: location.filename, label: `${context.path}${dockerfile === undefined ? '' : ` -f ${dockerfile}`}` }
  }
  const input = ctx.input(context)
  const source = context.output === 'default' ? context.node : `${context.node}.${context.output}`
  const dockerfileInput = inline !== undefined ? inlineInput() : input.state
  return { inputs: { context: input.state, dockerfile: dockerfileInput }, filename: inline !== undefined ? 'Dockerfile' : (dockerfile ?? 'Dockerfile'), label: `node ${source}` }
}

/** `dockerfile`: a Dockerfile built with BuildKit's frontend; its image feeds `run`, `copy` and exports. */
export function createDockerfileType(options: DockerfileTypeOptions = {}) {
  return defineNodeType({
    kind: 'dockerfile',
    description: "Builds a Dockerfile with BuildKit's dockerfile.v0 frontend; the image feeds other nodes.",
    schema,
    outputs: { default: 'image' },
    meta: {
      messages: {
        hostNetwork: 'RUN steps of {{node}} use the host network (network: host); the run needs the network.host entitlement.',
      },
    },
    async compile(node, ctx) {
      const config = node.config
      const { inputs, filename, label } = frontendInputs(node, ctx, options.baseDir)
      const secrets = Object.entries(config.secrets).map(([id, secret]) => ({ id, name: ctx.secret(secret).name }))
      const request = {
        frontend: DOCKERFILE_FRONTEND,
        options: frontendOptions({ filename, target: config.target, args: config.args, labels: config.labels, platform: config.platform, noCache: config.noCache, network: config.network }),
        inputs,
        ...(secrets.length > 0 ? { secrets: [...new Set(secrets.map((secret) => secret.name))] } : {}),
      }
      const result: ImageArtifact | FilesystemArtifact = await ctx.requireEngine().solveFrontend(request)
      // The frontend asks for secrets by the Dockerfile's ids; the session serves them by their declared names.
      const used = frontendSecrets(asState(result.state, `the frontend's result for node "${node.id}"`))
      const allowedSsh = config.ssh === true ? ['default'] : config.ssh === false ? [] : config.ssh
      const missingSecrets = used.secrets.filter((secret) => !secret.optional && !(secret.id in config.secrets)).map((secret) => secret.id)
      if (missingSecrets.length > 0) {
        throw new NodeConfigError('NODE_INVALID_CONFIG', `Node "${node.id}": the Dockerfile mounts secret${missingSecrets.length === 1 ? '' : 's'} ${missingSecrets.map((id) => `"${id}"`).join(', ')}; expected each under secrets: ({ <id>: <declared secret> }), received none`, {
          nodeId: node.id,
          path: ['secrets'],
          expected: `secrets for ${missingSecrets.join(', ')}`,
          received: Object.keys(config.secrets).join(', ') || 'none',
        })
      }
      const missingSsh = used.ssh.filter((ssh) => !ssh.optional && !allowedSsh.includes(ssh.id)).map((ssh) => ssh.id)
      if (missingSsh.length > 0) {
        throw new NodeConfigError('NODE_INVALID_CONFIG', `Node "${node.id}": the Dockerfile mounts ssh ${missingSsh.map((id) => `"${id}"`).join(', ')}; expected ssh: true (or the ids) on the node, received ${JSON.stringify(config.ssh)}`, {
          nodeId: node.id,
          path: ['ssh'],
          expected: `ssh allowed for ${missingSsh.join(', ')}`,
          received: JSON.stringify(config.ssh),
        })
      }
      const renamed = Object.fromEntries(secrets.filter((secret) => secret.id !== secret.name).map((secret) => [secret.id, secret.name]))
      const state = Object.keys(renamed).length > 0 ? asStateLike(withSecretIds(asState(result.state, `the frontend's result for node "${node.id}"`), renamed)) : result.state
      const platform = result.kind === 'image' ? result.platform : undefined
      const artifact = imageArtifact(state, result.kind === 'image' ? result.config : {}, platform === undefined ? {} : { platform })
      if (config.network === 'host') ctx.report({ messageId: 'hostNetwork', data: { node: node.id }, path: ['network'] })
      ctx.target({
        kind: 'build',
        state,
        ...(secrets.length > 0 ? { secrets: [...new Set(secrets.map((secret) => secret.name))] } : {}),
        description: `dockerfile ${label}${config.target === undefined ? '' : ` --target ${config.target}`} (network: ${config.network}${secrets.length > 0 ? `; secrets: ${secrets.map((secret) => secret.id).join(', ')}` : ''})`,
      })
      return { default: artifact }
    },
  })
}

/** The `dockerfile` node type with relative context paths left for the runtime. */
export const dockerfileType = createDockerfileType()

/** kiln.ts factory of {@link dockerfileType}: `dockerfile({ context: src, args: { VERSION: '1.0.0' } })`. */
export const dockerfile = createNodeFactory(dockerfileType)
