import {
  createNodeFactory,
  defineNodeType,
  filesystemArtifact,
  ID_PATTERN,
  imageArtifact,
  ref,
  secretRef,
  z,
  type FilesystemArtifact,
  type ImageArtifact,
  type OutputKinds,
  type SecretArtifact,
} from '@kiln/core'
import { copy, scratch, type ExecState, type MountSpec, type SecretEnv, type State } from '@kiln/llb'
import { toOciConfig, toState, toStateLike } from './convert.js'
import { resolveImage } from './image.js'
import { absolutePath, ENV_NAME, imageRefString, platformSchema, stringish } from './schemas.js'

const fromImage = z
  .strictObject({
    image: z.string().min(1).meta({ description: 'The image reference.' }),
    platform: platformSchema.optional(),
    resolveMode: z.enum(['default', 'pull', 'local']).optional().meta({ description: 'Where the engine looks for the image (see the `image` node).' }),
  })
  .meta({ description: 'An image, with options.' })

const fromSchema = z
  .union([
    imageRefString.transform((image): { image: string; platform?: string; resolveMode?: 'default' | 'pull' | 'local' } => ({ image })),
    fromImage,
    ref(['image', 'filesystem'], { description: 'Another node\'s image or filesystem output: "nodeId" or "nodeId.output".' }),
  ])
  .meta({
    description:
      'What the process runs in: an image reference with a tag or registry ("debian:bookworm", "busybox:latest"), { image, platform }, or another node\'s output ("base", "build.rootfs"). A bare name ("base") is a node reference.',
  })

const mountRef = ref(['filesystem', 'image'], { description: 'The node output to mount: "nodeId" or "nodeId.output".' })

const mountSchema = z.union([
  mountRef,
  z
    .strictObject({
      from: mountRef,
      readonly: z.boolean().default(false).meta({ description: 'Mount read-only (default false: writable, changes are kept only for `outputs` under it).' }),
      selector: z.string().min(1).optional().meta({ description: 'Mount only this sub-path of the output.' }),
    })
    .meta({ description: 'A mount with options.' }),
])

const cacheSchema = z.union([
  z.string().min(1).meta({ description: 'The cache id: runs that use the same id share the directory.' }),
  z
    .strictObject({
      id: z.string().min(1).meta({ description: 'The cache id: runs that use the same id share the directory.' }),
      sharing: z.enum(['shared', 'private', 'locked']).default('shared').meta({ description: '"shared" (default: concurrent runs use it at once), "private" (a new copy per concurrent run) or "locked" (one run at a time).' }),
    })
    .meta({ description: 'A cache with options.' }),
])

const secretSchema = z
  .union([
    z.null(),
    z.strictObject({
      target: absolutePath('Mount the secret as a file at this path (default /run/secrets/<name> unless `env` is set).').optional(),
      env: z.string().regex(ENV_NAME).optional().meta({ description: 'Expose the secret as this environment variable (needs BuildKit 0.10+, e.g. dockerd 23+; not on dockerd 20.10).' }),
      mode: z
        .string()
        .regex(/^0?[0-7]{3,4}$/)
        .optional()
        .meta({ description: 'Permission bits of the secret file as an octal string (default "0400").' }),
      uid: z.number().int().min(0).optional().meta({ description: 'Owner uid of the secret file (default 0).' }),
      gid: z.number().int().min(0).optional().meta({ description: 'Owner gid of the secret file (default 0).' }),
    }),
  ])
  .meta({ description: 'How the process sees the secret: a file (default /run/secrets/<name>) and/or an environment variable.' })

const outputName = z
  .string()
  .regex(ID_PATTERN)
  .refine((name) => name !== 'default', { error: 'Reserved output name', params: { expected: 'an output name other than "default" (the root filesystem)' } })

const schema = z
  .strictObject({
    from: fromSchema,
    command: z.array(z.string()).min(1).optional().meta({ description: 'The process to run, as argv (no shell): ["make", "build"].' }),
    script: z.string().min(1).optional().meta({ description: 'A shell script, run with `shell` (default /bin/sh -c).' }),
    shell: z.array(z.string().min(1)).min(1).default(['/bin/sh', '-c']).meta({ description: 'The shell `script` runs with (default ["/bin/sh", "-c"]).' }),
    env: z.record(z.string().regex(ENV_NAME), stringish, { error: 'environment variable names as keys (letters, digits and _)' }).default({}).meta({ description: 'Environment variables added to the image\'s.' }),
    workdir: z.string().min(1).optional().meta({ description: "Working directory (relative paths resolve against the image's)." }),
    user: z.string().min(1).optional().meta({ description: 'User to run as: name, uid, uid:gid or name:group. Default: the image\'s.' }),
    mounts: z.record(absolutePath('Where to mount it.'), mountSchema, { error: 'absolute paths as keys' }).default({}).meta({ description: 'Other nodes\' outputs mounted at paths: { "/src": "src", "/src/out": "build.bin" }.' }),
    caches: z.record(absolutePath('Where to mount the cache.'), cacheSchema, { error: 'absolute paths as keys' }).default({}).meta({ description: 'Persistent cache directories shared between runs, by id: { "/root/.cache": "build-cache" }.' }),
    tmpfs: z.array(absolutePath('A tmpfs mount point.')).default([]).meta({ description: 'Paths that get an empty in-memory filesystem.' }),
    secrets: z
      .record(z.string().regex(ID_PATTERN), secretSchema, { error: 'secret names as keys (a letter or _, then letters, digits, _ or -)' })
      .default({})
      .transform((secrets) =>
        Object.fromEntries(
          Object.entries(secrets).map(([name, options]) => [name, { ...(options ?? {}), secret: secretRef().parse(name) }]),
        ),
      )
      .meta({ description: 'Secrets declared under `secrets:`, by name. Their bytes come from the session, never from the LLB.' }),
    network: z
      .enum(['none', 'host'])
      .default('none')
      .meta({ description: '"none" (default: loopback only, hermetic) or "host" (the host\'s network; needs the network.host entitlement, shown by `kiln plan`).' }),
    outputs: z.record(outputName, absolutePath('The directory that becomes the output.'), { error: 'output names as keys, other than "default" (a letter or _, then letters, digits, _ or -)' }).default({}).meta({ description: 'Directories that become filesystem outputs other nodes take as "node.name": { bin: "/src/out" }.' }),
    phase: z.enum(['build', 'check']).default('build').meta({ description: '"check" for tests and checks (they gate publish nodes), "build" otherwise (default).' }),
  })
  .superRefine((config, ctx) => {
    if ((config.command === undefined) === (config.script === undefined)) {
      const both = config.command !== undefined
      ctx.addIssue({
        code: 'custom',
        path: [both ? 'script' : 'command'],
        message: both ? 'Expected either command or script, received both' : 'Expected command or script',
        params: { expected: both ? 'either `command` or `script`, not both' : '`command` (argv) or `script` (shell)' },
      })
    }
    const seen = new Map<string, string>()
    const claim = (dest: string, path: (string | number)[]) => {
      const owner = seen.get(normalise(dest))
      if (owner !== undefined) ctx.addIssue({ code: 'custom', path, message: `${dest} is mounted twice`, params: { expected: `a path not already used by ${owner}` } })
      else seen.set(normalise(dest), path.join('.'))
    }
    for (const dest of Object.keys(config.mounts)) claim(dest, ['mounts', dest])
    for (const dest of Object.keys(config.caches)) claim(dest, ['caches', dest])
    config.tmpfs.forEach((dest, index) => claim(dest, ['tmpfs', index]))
    for (const [name, secret] of Object.entries(config.secrets)) if (secret.target !== undefined || secret.env === undefined) claim(secret.target ?? `/run/secrets/${name}`, ['secrets', name])
    for (const [name, path] of Object.entries(config.outputs)) {
      const under = [...Object.keys(config.caches).map((dest) => ['cache', dest]), ...config.tmpfs.map((dest) => ['tmpfs', dest])].find(([, dest]) => within(path, dest as string))
      if (under !== undefined) ctx.addIssue({ code: 'custom', path: ['outputs', name], message: `${path} is inside a ${under[0]} mount`, params: { expected: `a path outside the ${under[0]} mount at ${under[1]} (it has no snapshot)` } })
      const mount = coveringMount(path, Object.keys(config.mounts))
      const spec = mount === undefined ? undefined : config.mounts[mount]
      if (spec !== undefined && typeof spec === 'object' && 'readonly' in spec && spec.readonly) {
        ctx.addIssue({ code: 'custom', path: ['outputs', name], message: `${path} is inside a read-only mount`, params: { expected: `a path outside the read-only mount at ${mount}` } })
      }
    }
  })
  .meta({ description: 'Runs a process in a container: on an image or another node\'s output, with mounts, caches, secrets, and no network unless asked.' })

/** The config of a `run` node. */
export type RunNodeConfig = z.input<typeof schema>
type ParsedRun = z.output<typeof schema>

function normalise(path: string): string {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.')
  return `/${parts.join('/')}`
}

function within(path: string, dest: string): boolean {
  const p = normalise(path)
  const d = normalise(dest)
  return d === '/' || p === d || p.startsWith(`${d}/`)
}

/** The deepest bind mount dest that contains `path` (undefined: the root filesystem). */
function coveringMount(path: string, dests: readonly string[]): string | undefined {
  return dests.filter((dest) => within(path, dest)).sort((a, b) => normalise(b).length - normalise(a).length)[0]
}

function fromLabel(config: ParsedRun): string {
  const { from } = config
  return 'image' in from ? from.image : from.output === 'default' ? from.node : `${from.node}.${from.output}`
}

function commandLabel(config: ParsedRun): string {
  const text = config.command !== undefined ? config.command.join(' ') : (config.script ?? '').split('\n').find((line) => line.trim() !== '')?.trim() ?? ''
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

/** `run`: a process in a container. */
export const runType = defineNodeType({
  kind: 'run',
  description: 'Runs a command or script in a container, with mounts of other nodes\' outputs, caches and secrets.',
  schema,
  outputs: (config): OutputKinds => ({
    default: 'image' in config.from ? 'image' : 'filesystem',
    ...Object.fromEntries(Object.keys(config.outputs).map((name) => [name, 'filesystem' as const])),
  }),
  phase: (config) => config.phase,
  async compile(node, ctx) {
    const config = node.config
    const { from } = config
    const base: ImageArtifact | FilesystemArtifact =
      'image' in from
        ? await resolveImage(ctx, from.image, { ...(from.platform === undefined ? {} : { platform: from.platform }), ...(from.resolveMode === undefined ? {} : { resolveMode: from.resolveMode }) })
        : ctx.input(from)
    let state: State = toState(base.state, `the "from" of node "${node.id}"`)
    if (base.kind === 'image') state = state.withImageConfig(toOciConfig(base.config))
    for (const [key, value] of Object.entries(config.env)) state = state.withEnv(key, value)
    if (config.workdir !== undefined) state = state.dir(config.workdir)
    if (config.user !== undefined) state = state.user(config.user)
    state = state.network(config.network)

    const outputPaths = Object.values(config.outputs)
    const mountDests = Object.keys(config.mounts)
    const regular: MountSpec[] = []
    for (const [dest, spec] of Object.entries(config.mounts)) {
      const options = 'from' in spec ? spec : { from: spec, readonly: false, selector: undefined }
      const input = ctx.input(options.from)
      const keep = outputPaths.some((path) => coveringMount(path, mountDests) === dest)
      regular.push({
        type: 'bind',
        dest,
        from: toState(input.state, `the mount at ${dest}`),
        readonly: options.readonly,
        ...(options.selector === undefined ? {} : { selector: options.selector }),
        ...(options.readonly || keep ? {} : { output: false }),
      })
    }
    for (const [dest, cache] of Object.entries(config.caches)) {
      const { id, sharing } = typeof cache === 'string' ? { id: cache, sharing: 'shared' as const } : cache
      regular.push({ type: 'cache', dest, id, sharing })
    }
    for (const dest of config.tmpfs) regular.push({ type: 'tmpfs', dest })
    // llb sorts mounts by dest as Go does, so a parent (/src) always comes before what is mounted inside it (/src/out).

    const secretMounts: MountSpec[] = []
    const secretEnv: SecretEnv[] = []
    const secretNames: string[] = []
    for (const [name, options] of Object.entries(config.secrets)) {
      const secret: SecretArtifact = ctx.secret(options.secret)
      secretNames.push(secret.name)
      if (options.env !== undefined) secretEnv.push({ id: secret.name, name: options.env })
      if (options.target !== undefined || options.env === undefined) {
        secretMounts.push({
          type: 'secret',
          id: secret.name,
          dest: options.target ?? `/run/secrets/${name}`,
          ...(options.mode === undefined ? {} : { mode: Number.parseInt(options.mode, 8) }),
          ...(options.uid === undefined ? {} : { uid: options.uid }),
          ...(options.gid === undefined ? {} : { gid: options.gid }),
        })
      }
    }

    const label = commandLabel(config)
    const exec: ExecState = state.run({
      ...(config.command !== undefined ? { args: config.command } : { args: [...config.shell, config.script ?? ''] }),
      mounts: [...regular, ...secretMounts],
      ...(secretEnv.length > 0 ? { secretEnv } : {}),
      customName: `[${node.id}] ${label}`,
    })

    const root = exec.root()
    const rootLike = toStateLike(root)
    const defaultOutput = base.kind === 'image' ? imageArtifact(rootLike, base.config, { ...(base.platform === undefined ? {} : { platform: base.platform }), ...(base.ref === undefined ? {} : { ref: base.ref }) }) : filesystemArtifact(rootLike)
    const outputs: Record<string, ImageArtifact | FilesystemArtifact> = { default: defaultOutput }
    for (const [name, path] of Object.entries(config.outputs)) outputs[name] = filesystemArtifact(toStateLike(outputState(exec, path, mountDests)))

    const network = config.network === 'host' ? 'network: host (needs the network.host entitlement)' : 'network: none'
    ctx.target({
      kind: config.phase === 'check' ? 'check' : 'build',
      state: rootLike,
      ...(secretNames.length > 0 ? { secrets: secretNames } : {}),
      description: `run ${label} on ${fromLabel(config)} (${network}${secretNames.length > 0 ? `; secrets: ${secretNames.join(', ')}` : ''})`,
    })
    return outputs
  },
})

/** The directory `path` after the process ran, as its own filesystem. */
function outputState(exec: ExecState, path: string, mountDests: readonly string[]): State {
  const mount = coveringMount(path, mountDests)
  if (mount !== undefined && normalise(mount) === normalise(path)) return exec.getMount(mount)
  const source = mount === undefined ? exec.root() : exec.getMount(mount)
  const inside = mount === undefined ? normalise(path) : normalise(`/${normalise(path).slice(normalise(mount).length)}`)
  if (inside === '/') return source
  return scratch().file(copy(source, inside, '/', { dirContentsOnly: true, createDestPath: true }))
}

/** kiln.ts factory of {@link runType}: `run({ from: 'debian:bookworm', mounts: { '/src': src }, script: 'make' })`. */
export const run = createNodeFactory(runType)
