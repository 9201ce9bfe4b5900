import { createNodeFactory, defineNodeType, ref, z } from '@kiln/core'
import type { ImageConfig, InspectContext, Severity } from '@kiln/core'

const severity = z.enum(['warn', 'deny']).default('deny').describe('deny fails the check (and so stops every publish of the run); warn only reports.')

const schema = z
  .strictObject({
    image: ref('image', { description: 'The image to check: a node whose output is an image.' }),
    severity,
    rules: z.strictObject({
      nonRoot: z.boolean().default(false).describe("The image's user is not root (uid 0), resolving a user name through the image's /etc/passwd."),
      requiredLabels: z.array(z.string().min(1)).default([]).describe('Labels the image config must have (with a non-empty value).'),
    }),
  })
  .refine((config) => config.rules.nonRoot || config.rules.requiredLabels.length > 0, {
    message: 'at least one rule',
    path: ['rules'],
    params: { expected: 'at least one rule (nonRoot: true or requiredLabels: [...])' },
  })

/** The config of a `policy.image` node, as written. */
export type ImageCheckConfig = z.input<typeof schema>

const messages = {
  root: 'Image {{image}} runs as root (user "{{user}}"): expected a non-root USER',
  unknownUser: 'Image {{image}} runs as user "{{user}}", which its /etc/passwd does not define: expected a user of the image ({{reason}})',
  missingLabel: 'Image {{image}} has no label {{label}}: expected the labels {{required}}',
}

/** What {@link inspectImage} checks. */
export interface ImageRules {
  readonly nonRoot: boolean
  readonly requiredLabels: readonly string[]
}

/**
 * The content check of `policy.image`: reads the image config (and, for a named user, the image's `/etc/passwd`)
 * through the engine and reports each broken rule with the node's severity.
 */
export async function inspectImage(context: InspectContext, options: { readonly image: string; readonly rules: ImageRules; readonly severity: Severity; readonly fallbackConfig?: ImageConfig }): Promise<void> {
  const config = context.imageConfig ?? options.fallbackConfig ?? {}
  const { image, severity: level } = options
  if (options.rules.nonRoot) {
    const user = config.user ?? ''
    const uid = await resolveUid(context, user)
    if (uid.kind === 'uid' && uid.uid === 0) context.report({ messageId: 'root', data: { rule: 'nonRoot', image, user }, severity: level })
    else if (uid.kind === 'unknown') context.report({ messageId: 'unknownUser', data: { rule: 'nonRoot', image, user, reason: uid.reason }, severity: level })
  }
  const labels = config.labels ?? {}
  for (const label of options.rules.requiredLabels) {
    if ((labels[label] ?? '') === '') context.report({ messageId: 'missingLabel', data: { rule: 'requiredLabels', image, label, required: options.rules.requiredLabels.join(', ') }, severity: level })
  }
}

type Uid = { readonly kind: 'uid'; readonly uid: number } | { readonly kind: 'unknown'; readonly reason: string }

/** The uid a config's `user` (`name`, `uid`, `name:group`, `uid:gid`, empty for root) runs as. */
async function resolveUid(context: InspectContext, user: string): Promise<Uid> {
  const name = user.split(':')[0]?.trim() ?? ''
  if (name === '' || name === 'root') return { kind: 'uid', uid: 0 }
  if (/^\d+$/.test(name)) return { kind: 'uid', uid: Number(name) }
  let passwd: string
  try {
    passwd = new TextDecoder().decode(await context.readFile('/etc/passwd'))
  } catch (error) {
    return { kind: 'unknown', reason: `/etc/passwd could not be read: ${error instanceof Error ? error.message : String(error)}` }
  }
  for (const line of passwd.split('\n')) {
    const fields = line.split(':')
    if (fields[0] === name && fields[2] !== undefined && /^\d+$/.test(fields[2])) return { kind: 'uid', uid: Number(fields[2]) }
  }
  return { kind: 'unknown', reason: `no entry for "${name}"` }
}

/**
 * `policy.image`: a check node that fails the run when an image runs as root or lacks required labels. Phase `check`:
 * every publish of the run waits for it.
 *
 * @example
 * ```yaml
 * image-policy: { type: policy.image, image: image, rules: { nonRoot: true, requiredLabels: [org.opencontainers.image.source] } }
 * ```
 */
export const imageCheck = defineNodeType({
  kind: 'policy.image',
  description: 'Check an image: runs as non-root, has required labels.',
  schema,
  outputs: {},
  phase: 'check',
  meta: { messages },
  compile(node, ctx) {
    const input = ctx.input(node.config.image)
    const { rules, severity: level } = node.config
    const checks = [...(rules.nonRoot ? ['non-root user'] : []), ...(rules.requiredLabels.length > 0 ? [`labels ${rules.requiredLabels.join(', ')}`] : [])]
    ctx.target({
      kind: 'check',
      state: input.state,
      image: { config: input.config, ...(input.platform === undefined ? {} : { platform: input.platform }) },
      description: `check image ${node.config.image.node}: ${checks.join('; ')}`,
      inspect: (context) => inspectImage(context, { image: node.config.image.node, rules, severity: level, fallbackConfig: input.config }),
    })
    return {}
  },
})

/** kiln.ts factory of `policy.image` nodes. */
export const policyImage = createNodeFactory(imageCheck)
