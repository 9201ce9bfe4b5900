import { isAbsolute, resolve } from 'node:path'
import { createNodeFactory, defineNodeType, ref, valueArtifact, z, type Exporter } from '@kiln/core'
import { copy, scratch } from '@kiln/llb'
import { toState, toStateLike } from './convert.js'
import { absolutePath, cacheOption } from './schemas.js'

const toSchema = z
  .union([
    z.strictObject({ local: z.string().min(1).meta({ description: "A directory on the host, relative to the config file's directory. Replaced as a whole once the export completed." }) }),
    z.strictObject({ tar: z.string().min(1).meta({ description: "A tarball on the host, relative to the config file's directory. Written beside it first, then moved into place." }) }),
  ])
  .meta({ description: 'Where the artifacts go: { local: dir } or { tar: file }.' })

const schema = z
  .strictObject({
    from: ref(['filesystem', 'image'], { description: 'The node output to export: "nodeId" or "nodeId.output".' }),
    path: absolutePath('Export only this directory of the output (its contents become the top of the export).').optional(),
    to: toSchema,
    cache: cacheOption,
  })
  .meta({ description: 'Exports artifacts to a host directory or tarball, atomically, after every check of the run passed; its value is the destination.' })

/** The config of a `deploy.export` node. */
export type ExportNodeConfig = z.input<typeof schema>

/** Options of {@link createExportType}. */
export interface ExportTypeOptions {
  /** The directory relative destinations resolve against. Without it they stay relative, for the runtime (the project directory). */
  readonly baseDir?: string
}

/**
 * `deploy.export`: a `publish` target with a `local` or `tar` exporter. The engine's FileSend receiver writes into a
 * temporary sibling of the destination and renames it into place when the transfer completed, so a failed or
 * cancelled export never leaves a half-written destination (the previous content stays). The value is the
 * destination path, known when the graph is compiled.
 */
export function createExportType(options: ExportTypeOptions = {}) {
  const place = (path: string) => (options.baseDir === undefined || isAbsolute(path) ? path : resolve(options.baseDir, path))
  return defineNodeType({
    kind: 'deploy.export',
    description: 'Exports artifacts to a host directory or tarball, atomically (after every check passed).',
    schema,
    outputs: { default: 'value' },
    phase: 'publish',
    compile(node, ctx) {
      const { from, path, to, cache } = node.config
      const input = ctx.input(from)
      let state = input.state
      if (path !== undefined && path !== '/') {
        state = toStateLike(scratch().file(copy(toState(input.state, `the "from" of node "${node.id}"`), path, '/', { dirContentsOnly: true }), { customName: `[${node.id}] select ${path}` }))
      }
      const dest = place('local' in to ? to.local : to.tar)
      const exporter: Exporter = 'local' in to ? { type: 'local', dest } : { type: 'tar', dest }
      const source = `${from.output === 'default' ? from.node : `${from.node}.${from.output}`}${path === undefined ? '' : `:${path}`}`
      ctx.target({ name: 'export', kind: 'publish', state, exporter, cache, description: `export ${source} to ${'local' in to ? 'directory' : 'tarball'} ${dest}` })
      return { default: valueArtifact(dest) }
    },
  })
}

/** The `deploy.export` node type with relative destinations left for the runtime. */
export const exportType = createExportType()

/** kiln.ts factory of {@link exportType}: `exportTo({ from: build, to: { local: 'dist' } })`. */
export const exportTo = createNodeFactory(exportType)
