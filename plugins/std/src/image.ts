import { createNodeFactory, defineNodeType, imageArtifact, z, type CompileContext, type ImageArtifact, type ImageConfig, type Platform } from '@kiln/core'
import { image as imageSource } from '@kiln/llb'
import { toOciConfig, toPlatform, toStateLike } from './convert.js'
import { platformSchema } from './schemas.js'

const schema = z
  .strictObject({
    ref: z
      .string()
      .min(1)
      .meta({ description: 'The image reference: "busybox:latest", "debian:bookworm", "registry.local/app@sha256:…". Normalised like Docker (busybox → docker.io/library/busybox:latest).' }),
    platform: platformSchema.optional(),
    resolveMode: z
      .enum(['default', 'pull', 'local'])
      .optional()
      .meta({ description: 'Where the engine looks for the image: "default" (its store, then the registry), "pull" (always ask the registry) or "local" (its store only).' }),
  })
  .meta({ description: 'A container image as a filesystem, with its OCI config (env, workdir, user) for the nodes that run in it.' })

/** The config of an `image` node. */
export type ImageNodeConfig = z.input<typeof schema>

/**
 * Resolves an image to an artifact: the image source, plus its OCI config from the engine when there is one (so its
 * env, working directory and user apply to `run` nodes built on it), an empty config otherwise.
 * @internal Shared with `run`'s image-string `from`.
 */
export async function resolveImage(ctx: CompileContext, ref: string, options: { platform?: string; resolveMode?: 'default' | 'pull' | 'local' } = {}): Promise<ImageArtifact> {
  const platform: Platform | undefined = options.platform === undefined ? undefined : toPlatform(options.platform)
  let config: ImageConfig = {}
  if (ctx.engine !== undefined) {
    const resolved = await ctx.engine.resolveImageConfig(ref, platform === undefined ? {} : { platform })
    config = resolved.config
  }
  const state = imageSource(ref, {
    ...(platform === undefined ? {} : { platform }),
    ...(options.resolveMode === undefined ? {} : { resolveMode: options.resolveMode }),
    config: toOciConfig(config),
  })
  return imageArtifact(toStateLike(state), config, { ref, ...(platform === undefined ? {} : { platform }) })
}

/** `image`: a container image. */
export const imageType = defineNodeType({
  kind: 'image',
  description: 'A container image: its filesystem and its OCI config.',
  schema,
  outputs: { default: 'image' },
  async compile(node, ctx) {
    const { ref, platform, resolveMode } = node.config
    return { default: await resolveImage(ctx, ref, { ...(platform === undefined ? {} : { platform }), ...(resolveMode === undefined ? {} : { resolveMode }) }) }
  },
})

/** kiln.ts factory of {@link imageType}: `image({ ref: 'debian:bookworm' })`. */
export const image = createNodeFactory(imageType)
