import { createNodeFactory, defineNodeType, filesystemArtifact, secretRef, z } from '@kiln/core'
import { git as gitSource, http as httpSource } from '@kiln/llb'
import { toStateLike } from './convert.js'

const gitSchema = z
  .strictObject({
    url: z.string().min(1).meta({ description: 'The repository: https://host/path.git, ssh://…, or git@host:path.' }),
    ref: z.string().min(1).optional().meta({ description: "A branch, tag or commit. Default: the remote's HEAD." }),
    keepGitDir: z.boolean().default(false).meta({ description: 'Keep the .git directory in the checkout (default false).' }),
    authTokenSecret: secretRef({ description: 'A secret (declared under `secrets:`) holding an HTTPS token for the remote.' }).optional(),
  })
  .meta({ description: 'A git repository checked out by the engine.' })

/** The config of a `git` node. */
export type GitNodeConfig = z.input<typeof gitSchema>

/** `git`: a repository checkout. */
export const gitType = defineNodeType({
  kind: 'git',
  description: 'A git repository checked out by the engine.',
  schema: gitSchema,
  outputs: { default: 'filesystem' },
  compile(node, ctx) {
    const { url, ref, keepGitDir, authTokenSecret } = node.config
    const secret = authTokenSecret === undefined ? undefined : ctx.secret(authTokenSecret).name
    const state = gitSource(url, ref ?? '', { keepGitDir, ...(secret === undefined ? {} : { authTokenSecret: secret }) })
    const artifact = filesystemArtifact(toStateLike(state))
    // The engine asks the session for the token when it fetches: make the secret visible in the plan.
    if (secret !== undefined) ctx.target({ kind: 'build', state: artifact.state, secrets: [secret], description: `git ${url}${ref === undefined ? '' : `#${ref}`} (auth: secret ${secret})` })
    return { default: artifact }
  },
})

/** kiln.ts factory of {@link gitType}. */
export const git = createNodeFactory(gitType)

const httpSchema = z
  .strictObject({
    url: z
      .string()
      .regex(/^https?:\/\//)
      .meta({ description: 'The http:// or https:// URL to download.' }),
    checksum: z
      .string()
      .regex(/^sha256:[a-f0-9]{64}$/)
      .optional()
      .meta({ description: 'The expected digest of the content, "sha256:<64 hex>". The download fails when it differs.' }),
    filename: z
      .string()
      .min(1)
      .refine((value) => !value.includes('/'), { error: 'Expected a file name', params: { expected: 'a file name without "/"' } })
      .optional()
      .meta({ description: 'The name of the file in the output. Default: from the URL.' }),
    chmod: z
      .string()
      .regex(/^0?[0-7]{3,4}$/)
      .transform((value) => Number.parseInt(value, 8))
      .optional()
      .meta({ description: 'Permission bits of the file as an octal string: "0755" (quoted, so YAML keeps it octal).' }),
  })
  .meta({ description: 'A file downloaded by the engine (the output holds that one file).' })

/** The config of an `http` node. */
export type HttpNodeConfig = z.input<typeof httpSchema>

/** `http`: a downloaded file. */
export const httpType = defineNodeType({
  kind: 'http',
  description: 'A file downloaded over http(s) by the engine.',
  schema: httpSchema,
  outputs: { default: 'filesystem' },
  compile(node) {
    const { url, checksum, filename, chmod } = node.config
    const state = httpSource(url, {
      ...(checksum === undefined ? {} : { checksum }),
      ...(filename === undefined ? {} : { filename }),
      ...(chmod === undefined ? {} : { perm: chmod }),
    })
    return { default: filesystemArtifact(toStateLike(state)) }
  },
})

/** kiln.ts factory of {@link httpType}. */
export const http = createNodeFactory(httpType)
