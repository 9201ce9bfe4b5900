import { createNodeFactory, defineNodeType, pendingValueArtifact, ref, secretRef, z, type Exporter } from '@kiln/core'
import { cacheOption, pushTarget } from './schemas.js'

const schema = z
  .strictObject({
    image: ref('image', { description: 'The image to push: a node\'s image output ("image", "build.image").' }),
    to: pushTarget,
    auth: secretRef({ description: 'A secret holding the registry credentials: "user:password", or a token. Default: the Docker config.json of the machine running kiln.' }).optional(),
    insecure: z
      .boolean()
      .default(false)
      .meta({ description: 'Allow a plain-HTTP or self-signed registry (standalone buildkitd; dockerd decides from its own insecure-registries, and always allows 127.0.0.0/8).' }),
    cache: cacheOption,
  })
  .meta({ description: 'Pushes an image to a registry after every check of the run passed; its value is the pushed manifest digest.' })

/** The config of a `deploy.push` node. */
export type PushNodeConfig = z.input<typeof schema>

/**
 * `deploy.push`: a `publish` target with an `image` exporter and `push: true`. The engine does the push its own way:
 * dockerd stores the image (`moby` exporter) and pushes it through its API; a standalone buildkitd pushes from its
 * `image` exporter. The registry credentials secret, when given, is the target's only secret. The node's value is
 * the manifest digest the registry received (`containerimage.digest` of the push).
 */
export const pushType = defineNodeType({
  kind: 'deploy.push',
  description: 'Pushes an image to a registry (after every check passed); its value is the pushed manifest digest.',
  schema,
  outputs: { default: 'value' },
  phase: 'publish',
  compile(node, ctx) {
    const { to, auth, insecure, cache } = node.config
    const image = ctx.input(node.config.image)
    const secrets = auth === undefined ? [] : [ctx.secret(auth).name]
    const exporter: Exporter = { type: 'image', name: to, push: true, ...(insecure ? { insecure: true } : {}) }
    const source = node.config.image.output === 'default' ? node.config.image.node : `${node.config.image.node}.${node.config.image.output}`
    ctx.target({
      name: 'push',
      kind: 'publish',
      state: image.state,
      exporter,
      image: { config: image.config, ...(image.platform === undefined ? {} : { platform: image.platform }) },
      secrets,
      cache,
      values: { default: { from: 'exporter', key: 'containerimage.digest' } },
      description: `push ${source} to ${to}${secrets.length > 0 ? ` (credentials: secret ${secrets[0]})` : ''}${insecure ? ' (insecure registry)' : ''}`,
    })
    return { default: pendingValueArtifact(node.id, 'default') }
  },
})

/** kiln.ts factory of {@link pushType}: `push({ image, to: '127.0.0.1:5000/app:1.0', auth: 'registry' })`. */
export const push = createNodeFactory(pushType)
