import { isAbsolute, resolve } from 'node:path'
import { createNodeFactory, defineNodeType, pendingValueArtifact, ref, z, type CompiledOutputs, type Exporter, type OutputKinds } from '@kiln/core'

const toSchema = z
  .union([
    z.strictObject({ local: z.string().min(1).meta({ description: "A directory on the host, relative to the config file's directory; replaced by the result." }) }),
    z.strictObject({ tar: z.string().min(1).meta({ description: "A tarball on the host, relative to the config file's directory." }) }),
    z.strictObject({ image: z.string().min(1).meta({ description: 'An image name (e.g. "app:dev") stored in the engine (dockerd\'s image store).' }) }),
  ])
  .meta({ description: 'Where the result goes: { local: dir }, { tar: file } or { image: name }.' })

const schema = z
  .strictObject({
    from: ref(['filesystem', 'image'], { description: 'The node output to export: "nodeId" or "nodeId.output".' }),
    to: toSchema,
  })
  .meta({ description: "Exports a node's output: to a host directory, a tarball, or an image in the engine." })

/** The config of an `export` node. */
export type ExportNodeConfig = z.input<typeof schema>

/** Options of {@link createExportType}. */
export interface ExportTypeOptions {
  /** The directory relative `local`/`tar` destinations resolve against. Without it they stay relative, for the runtime. */
  readonly baseDir?: string
}

/** `export`: a node's output, materialised outside the engine's cache. */
export function createExportType(options: ExportTypeOptions = {}) {
  const place = (path: string) => (options.baseDir === undefined || isAbsolute(path) ? path : resolve(options.baseDir, path))
  return defineNodeType({
    kind: 'export',
    description: "Exports a node's output to a host directory, a tarball, or an image in the engine.",
    schema,
    outputs: (config): OutputKinds => ('image' in config.to ? { default: 'filesystem', digest: 'value' } : { default: 'filesystem' }),
    compile(node, ctx): CompiledOutputs {
      const { from, to } = node.config
      const input = ctx.input(from)
      const source = from.output === 'default' ? from.node : `${from.node}.${from.output}`
      if ('image' in to) {
        const exporter: Exporter = { type: 'image', name: to.image }
        ctx.target({
          kind: 'export',
          state: input.state,
          exporter,
          image: input.kind === 'image' ? { config: input.config, ...(input.platform === undefined ? {} : { platform: input.platform }) } : { config: {} },
          values: { digest: { from: 'exporter', key: 'containerimage.digest' } },
          description: `export ${source} to image ${to.image}`,
        })
        return { default: input, digest: pendingValueArtifact(node.id, 'digest') }
      }
      const exporter: Exporter = 'local' in to ? { type: 'local', dest: place(to.local) } : { type: 'tar', dest: place(to.tar) }
      ctx.target({ kind: 'export', state: input.state, exporter, description: `export ${source} to ${'local' in to ? 'directory' : 'tarball'} ${'local' in to ? to.local : to.tar}` })
      return { default: input }
    },
  })
}

/** The `export` node type with relative destinations left for the runtime. */
export const exportType = createExportType()

/** kiln.ts factory of {@link exportType} (named `exportTo` because `export` is a keyword). */
export const exportTo = createNodeFactory(exportType)
