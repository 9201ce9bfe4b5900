import { createNodeFactory, defineNodeType, filesystemArtifact, imageArtifact, ref, z, type FilesystemArtifact, type ImageArtifact, type StateLike } from '@kiln/core'
import { copy as copyAction, merge as mergeStates, scratch, type FileAction, type State } from '@kiln/llb'
import { toState, toStateLike } from './convert.js'
import { absolutePath, patterns } from './schemas.js'

const inputRef = ref(['filesystem', 'image'])

/** Keeps an image's config when its filesystem is modified; a filesystem stays a filesystem. */
function like(base: ImageArtifact | FilesystemArtifact | undefined, state: StateLike): ImageArtifact | FilesystemArtifact {
  if (base?.kind !== 'image') return filesystemArtifact(state)
  return imageArtifact(state, base.config, { ...(base.platform === undefined ? {} : { platform: base.platform }), ...(base.ref === undefined ? {} : { ref: base.ref }) })
}

const copySchema = z
  .strictObject({
    from: ref(['filesystem', 'image'], { description: 'The node output to copy from: "nodeId" or "nodeId.output".' }),
    src: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .transform((value) => (typeof value === 'string' ? [value] : value))
      .meta({ description: 'Path(s) in `from` to copy; wildcards allowed ("bin/*"). A directory copies its contents, like Dockerfile COPY.' }),
    dest: absolutePath('Where to copy to in the result; a trailing "/" copies into that directory.'),
    to: ref(['filesystem', 'image'], { description: 'The filesystem to copy onto (default: an empty one). An image keeps its config.' }).optional(),
    include: patterns('Copy only paths matching these patterns (needs BuildKit 0.13+; not on dockerd 20.10).').optional(),
    exclude: patterns('Skip paths matching these patterns (needs BuildKit 0.13+; not on dockerd 20.10).').optional(),
    followSymlinks: z.boolean().default(true).meta({ description: 'Copy what a symlink `src` points to rather than the link (default true, like COPY).' }),
    owner: z
      .union([z.string().min(1), z.number().int().min(0)])
      .optional()
      .meta({ description: 'Owner of the copied files: "user", "user:group", "uid" or "uid:gid". Default: kept.' }),
    mode: z
      .string()
      .regex(/^0?[0-7]{3,4}$/)
      .optional()
      .meta({ description: 'Permission bits of the copied files as an octal string ("0755"). Default: kept.' }),
  })
  .meta({ description: 'Copies files from one filesystem onto another (or onto an empty one).' })

/** The config of a `copy` node. */
export type CopyNodeConfig = z.input<typeof copySchema>

function ownerOf(value: string | number | undefined): { user?: string | number; group?: string | number } | undefined {
  if (value === undefined) return undefined
  const [user, group] = String(value).split(':', 2) as [string, string?]
  const id = (part: string): string | number => (/^\d+$/.test(part) ? Number(part) : part)
  return { user: id(user), ...(group === undefined || group === '' ? {} : { group: id(group) }) }
}

/** `copy`: files from one filesystem onto another. */
export const copyType = defineNodeType({
  kind: 'copy',
  description: 'Copies files from a node output onto another (or onto an empty filesystem).',
  schema: copySchema,
  outputs: { default: 'filesystem' },
  compile(node, ctx) {
    const config = node.config
    const from = toState(ctx.input(config.from).state, `the "from" of node "${node.id}"`)
    const target = config.to === undefined ? undefined : ctx.input(config.to)
    const base: State = target === undefined ? scratch() : toState(target.state, `the "to" of node "${node.id}"`)
    const owner = ownerOf(config.owner)
    const options = {
      dirContentsOnly: true,
      createDestPath: true,
      allowWildcard: true,
      followSymlinks: config.followSymlinks,
      ...(config.include === undefined ? {} : { include: config.include }),
      ...(config.exclude === undefined ? {} : { exclude: config.exclude }),
      ...(owner === undefined ? {} : { owner }),
      ...(config.mode === undefined ? {} : { mode: Number.parseInt(config.mode, 8) }),
    }
    let chain: FileAction | undefined
    // Relative sources are relative to the root of `from`, as in Dockerfile's COPY --from, not to its workdir.
    const sources = config.src.map((src) => (src.startsWith('/') ? src : `/${src}`))
    for (const src of sources) chain = chain === undefined ? copyAction(from, src, config.dest, options) : chain.copy(from, src, config.dest, options)
    const state = base.file(chain as FileAction, { customName: `[${node.id}] copy ${sources.join(' ')} ${config.dest}` })
    return { default: like(target, toStateLike(state)) }
  },
})

/** kiln.ts factory of {@link copyType}. */
export const copy = createNodeFactory(copyType)

const mergeSchema = z
  .strictObject({
    inputs: z.array(inputRef).min(1).meta({ description: 'Node outputs to layer, later ones on top: ["base", "build.bin"].' }),
    strategy: z
      .enum(['copy', 'merge'])
      .default('copy')
      .meta({ description: '"copy" (default: copies each input over the first; works on every engine) or "merge" (BuildKit\'s MergeOp: no copying, needs BuildKit 0.10+; not on dockerd 20.10).' }),
  })
  .meta({ description: 'Layers filesystems, later ones on top.' })

/** The config of a `merge` node. */
export type MergeNodeConfig = z.input<typeof mergeSchema>

/** `merge`: filesystems layered in order. */
export const mergeType = defineNodeType({
  kind: 'merge',
  description: 'Layers filesystems in order, later ones on top.',
  schema: mergeSchema,
  outputs: { default: 'filesystem' },
  compile(node, ctx) {
    const artifacts = node.config.inputs.map((input) => ctx.input(input))
    const states = artifacts.map((artifact, index) => toState(artifact.state, `input ${index} of node "${node.id}"`))
    const [first, ...rest] = states as [State, ...State[]]
    let state: State
    if (node.config.strategy === 'merge' || rest.length === 0) {
      state = mergeStates(states, { customName: `[${node.id}] merge` })
    } else {
      let chain: FileAction | undefined
      for (const layer of rest) {
        const options = { dirContentsOnly: true, createDestPath: true }
        chain = chain === undefined ? copyAction(layer, '/', '/', options) : chain.copy(layer, '/', '/', options)
      }
      state = first.file(chain as FileAction, { customName: `[${node.id}] merge (copy ${states.length} inputs)` })
    }
    return { default: like(artifacts[0], toStateLike(state)) }
  },
})

/** kiln.ts factory of {@link mergeType}. */
export const merge = createNodeFactory(mergeType)
