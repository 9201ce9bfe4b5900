import { randomUUID } from 'node:crypto'
import {
  createNodeFactory,
  defineNodeType,
  ID_PATTERN,
  pendingValueArtifact,
  ref,
  secretRef,
  z,
  type CompileContext,
  type FilesystemArtifact,
  type ImageArtifact,
  type ImageConfig,
} from '@kiln/core'
import { image as imageSource, type MountSpec, type State } from '@kiln/llb'
import { toOciConfig, toState, toStateLike } from './convert.js'
import { absolutePath, cacheOption } from './schemas.js'

/** Where the captured stdout is written (a scratch mount: the target's result). */
export const OUTPUT_DIR = '/kiln/out'
/** Where the raw output waits for redaction (a tmpfs: never part of any snapshot). */
export const SCRATCH_DIR = '/kiln/tmp'
/** The file of the result that holds the captured stdout. */
export const STDOUT_FILE = 'stdout'
/** The environment variable that makes an uncached deploy's cache key unique per compile. */
export const RUN_NONCE_ENV = 'KILN_DEPLOY_RUN'

const imageRef = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._\-/:@]*$/i)
  .refine((value) => /[:/@]/.test(value), { error: 'Expected an image reference', params: { expected: 'an image reference with a tag, digest or registry ("busybox:latest")' } })

const fromSchema = z
  .union([
    imageRef.transform((image) => ({ image })),
    ref(['image', 'filesystem'], { description: 'Another node\'s image or filesystem: "nodeId" or "nodeId.output".' }),
  ])
  .meta({ description: 'What the deploy command runs in: an image reference with a tag or registry ("debian:bookworm"), or another node\'s output ("tools").' })

const secretSchema = z
  .union([
    z.null(),
    z.strictObject({
      target: absolutePath('Mount the secret as a file at this path (default /run/secrets/<name>).').optional(),
      mode: z
        .string()
        .regex(/^0?[0-7]{3,4}$/)
        .optional()
        .meta({ description: 'Permission bits as an octal string (default "0400").' }),
      uid: z.number().int().min(0).optional(),
      gid: z.number().int().min(0).optional(),
    }),
  ])
  .meta({ description: 'How the command sees the secret: a file, by default /run/secrets/<name>.' })

const schema = z
  .strictObject({
    from: fromSchema,
    command: z.array(z.string()).min(1).optional().meta({ description: 'The deploy command as argv (no shell): ["kubectl", "apply", "-f", "/manifests"].' }),
    script: z.string().min(1).optional().meta({ description: 'A shell script, run with `shell` (default /bin/sh -c).' }),
    shell: z.array(z.string().min(1)).min(1).default(['/bin/sh', '-c']),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
    workdir: z.string().min(1).optional(),
    user: z.string().min(1).optional(),
    mounts: z.record(absolutePath('Where to mount it (read-only).'), ref(['filesystem', 'image'])).default({}).meta({ description: 'Other nodes\' outputs mounted read-only: { "/manifests": "render.out" }.' }),
    secrets: z
      .record(z.string().regex(ID_PATTERN), secretSchema)
      .default({})
      .transform((secrets) => Object.fromEntries(Object.entries(secrets).map(([name, options]) => [name, { ...(options ?? {}), secret: secretRef().parse(name) }])))
      .meta({ description: 'Secrets declared under `secrets:`, mounted as files. Their values are replaced by *** in the captured output and in the logs.' }),
    network: z.enum(['none', 'host']).default('none').meta({ description: '"none" (default) or "host": the host\'s network, for commands that talk to a cluster or a server.' }),
    json: z.boolean().default(false).meta({ description: 'Parse the captured stdout as JSON (default false: the trimmed text).' }),
    cache: cacheOption,
  })
  .superRefine((config, context) => {
    if ((config.command === undefined) === (config.script === undefined)) {
      const both = config.command !== undefined
      context.addIssue({ code: 'custom', path: [both ? 'script' : 'command'], message: both ? 'Expected either command or script, received both' : 'Expected command or script', params: { expected: both ? 'either `command` or `script`, not both' : '`command` (argv) or `script` (shell)' } })
    }
    const taken = new Map<string, string>()
    const claim = (dest: string, path: (string | number)[]) => {
      const clean = normalise(dest)
      if (clean === '/kiln' || clean.startsWith('/kiln/')) context.addIssue({ code: 'custom', path, message: `${dest} is reserved`, params: { expected: 'a path outside /kiln (where the output is captured)' } })
      else if (taken.has(clean)) context.addIssue({ code: 'custom', path, message: `${dest} is mounted twice`, params: { expected: `a path not already used by ${taken.get(clean) ?? ''}` } })
      else taken.set(clean, path.join('.'))
    }
    for (const dest of Object.keys(config.mounts)) claim(dest, ['mounts', dest])
    for (const [name, secret] of Object.entries(config.secrets)) claim(secret.target ?? `/run/secrets/${name}`, ['secrets', name])
  })
  .meta({ description: 'Runs a deploy command in a container (after every check passed), with secrets as files and no network unless asked; its stdout is the node\'s value.' })

/** The config of a `deploy.run` node. */
export type RunNodeConfig = z.input<typeof schema>

function normalise(path: string): string {
  return `/${path.split('/').filter((part) => part !== '' && part !== '.').join('/')}`
}

// POSIX awk (busybox, mawk, gawk): literal replacement of every secret value (and its trimmed form), longest first.
const REDACT_AWK = [
  'function slurp(path,   line, text, count) { text = ""; count = 0; while ((getline line < path) > 0) { text = (count++ ? text "\\n" : "") line }; close(path); return text }',
  'function trim(s) { sub(/^[ \\t\\r\\n]+/, "", s); sub(/[ \\t\\r\\n]+$/, "", s); return s }',
  'function add(v,   i) { if (length(v) < 4) return; for (i = 1; i <= m; i++) if (sec[i] == v) return; sec[++m] = v }',
  'BEGIN { m = 0; n = split(ENVIRON["KILN_SECRET_FILES"], paths, "\\n"); for (i = 1; i <= n; i++) if (paths[i] != "") { v = slurp(paths[i]); add(v); add(trim(v)) }',
  '  for (i = 2; i <= m; i++) { v = sec[i]; for (j = i - 1; j >= 1 && length(sec[j]) < length(v); j--) sec[j + 1] = sec[j]; sec[j + 1] = v } }',
  '{ text = (NR > 1 ? text "\\n" : "") $0 }',
  'END { if (NR == 0) exit; for (i = 1; i <= m; i++) { out = ""; rest = text; while ((p = index(rest, sec[i])) > 0) { out = out substr(rest, 1, p - 1) "***"; rest = substr(rest, p + length(sec[i])) }; text = out rest }; print text }',
].join('\n')

/**
 * The shell wrapper around the deploy command: runs it with stdout and stderr captured in a tmpfs, replaces every
 * secret value by `***`, writes the redacted stdout to the result, and replays both to the logs. Secret values
 * therefore never reach a snapshot, the value or the engine's logs, even when the command prints them.
 * @internal Exported for tests.
 */
export function wrapperScript(secretFiles: readonly string[]): string {
  const lines = ['set -u', `out=${OUTPUT_DIR} tmp=${SCRATCH_DIR}`]
  if (secretFiles.length > 0) {
    lines.push(
      'command -v awk >/dev/null 2>&1 || { echo "kiln: deploy.run needs awk in the image to keep secret values out of its output" >&2; exit 127; }',
      `redact() { KILN_SECRET_FILES='${secretFiles.join('\n')}' awk '${REDACT_AWK}' "$1"; }`,
    )
  } else {
    lines.push('redact() { cat "$1"; }')
  }
  lines.push(
    '"$@" >"$tmp/stdout" 2>"$tmp/stderr"',
    'status=$?',
    'redact "$tmp/stderr" >&2',
    `redact "$tmp/stdout" >"$out/${STDOUT_FILE}" || exit 1`,
    `cat "$out/${STDOUT_FILE}"`,
    'if [ "$status" -ne 0 ]; then echo "kiln: the deploy command exited with status $status" >&2; exit "$status"; fi',
  )
  return lines.join('\n')
}

async function resolveImage(ctx: CompileContext, ref: string): Promise<ImageArtifact> {
  let config: ImageConfig = {}
  if (ctx.engine !== undefined) config = (await ctx.engine.resolveImageConfig(ref)).config
  const state = imageSource(ref, { config: toOciConfig(config) })
  return { kind: 'image', state: toStateLike(state), config, ref }
}

function label(config: z.output<typeof schema>): string {
  const text = config.command !== undefined ? config.command.join(' ') : ((config.script ?? '').split('\n').find((line) => line.trim() !== '')?.trim() ?? '')
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

/**
 * `deploy.run`: a deploy command in a container, as a `publish` target whose result is the captured stdout. Secrets
 * are files (`/run/secrets/<name>`), the network is `none` unless `host` is asked, and the command runs again on
 * every run unless `cache: true` (its cache key carries a per-compile nonce, so the value read after the solve hits
 * the same result instead of running the command twice).
 */
export const runType = defineNodeType({
  kind: 'deploy.run',
  description: 'Runs a deploy command in a container (after every check passed); its stdout is the node\'s value.',
  schema,
  outputs: { default: 'value' },
  phase: 'publish',
  async compile(node, ctx) {
    const config = node.config
    const base: ImageArtifact | FilesystemArtifact = 'image' in config.from ? await resolveImage(ctx, config.from.image) : ctx.input(config.from)
    let state: State = toState(base.state, `the "from" of node "${node.id}"`)
    if (base.kind === 'image') state = state.withImageConfig(toOciConfig(base.config))
    for (const [key, value] of Object.entries(config.env)) state = state.withEnv(key, value)
    if (!config.cache) state = state.withEnv(RUN_NONCE_ENV, randomUUID())
    if (config.workdir !== undefined) state = state.dir(config.workdir)
    if (config.user !== undefined) state = state.user(config.user)

    const mounts: MountSpec[] = Object.entries(config.mounts)
      .sort(([a], [b]) => normalise(a).split('/').length - normalise(b).split('/').length || (a < b ? -1 : 1))
      .map(([dest, reference]) => ({ type: 'bind', dest, from: toState(ctx.input(reference).state, `the mount at ${dest}`), readonly: true }))
    const secretNames: string[] = []
    const secretFiles: string[] = []
    for (const [name, options] of Object.entries(config.secrets)) {
      const secret = ctx.secret(options.secret)
      const dest = options.target ?? `/run/secrets/${name}`
      secretNames.push(secret.name)
      secretFiles.push(dest)
      mounts.push({
        type: 'secret',
        id: secret.name,
        dest,
        ...(options.mode === undefined ? {} : { mode: Number.parseInt(options.mode, 8) }),
        ...(options.uid === undefined ? {} : { uid: options.uid }),
        ...(options.gid === undefined ? {} : { gid: options.gid }),
      })
    }
    mounts.push({ type: 'bind', dest: OUTPUT_DIR }, { type: 'tmpfs', dest: SCRATCH_DIR })

    const argv = config.command ?? [...config.shell, config.script ?? '']
    const text = label(config)
    const exec = state.run({
      args: ['/bin/sh', '-c', wrapperScript(secretFiles), 'kiln-deploy', ...argv],
      mounts,
      network: config.network,
      customName: `[${node.id}] ${text}`,
    })
    const from = 'image' in config.from ? config.from.image : config.from.output === 'default' ? config.from.node : `${config.from.node}.${config.from.output}`
    ctx.target({
      name: 'run',
      kind: 'publish',
      state: toStateLike(exec.getMount(OUTPUT_DIR)),
      ...(secretNames.length > 0 ? { secrets: secretNames } : {}),
      cache: config.cache,
      values: { default: { from: 'file', path: `/${STDOUT_FILE}`, ...(config.json ? { json: true } : {}) } },
      description: `deploy: ${text} on ${from} (network: ${config.network}${config.network === 'host' ? ', needs the network.host entitlement' : ''}${secretNames.length > 0 ? `; secrets: ${secretNames.join(', ')}` : ''})`,
    })
    return { default: pendingValueArtifact(node.id, 'default') }
  },
})

/** kiln.ts factory of {@link runType}: `deployRun({ from: 'debian:bookworm', script: 'kubectl apply -f /m', secrets: { kubeconfig: null } })`. */
export const deployRun = createNodeFactory(runType)
