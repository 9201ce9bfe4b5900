import { isAbsolute, resolve } from 'node:path'
import { createNodeFactory, defineNodeType, filesystemArtifact, z } from '@kiln/core'
import { local as localSource } from '@kiln/llb'
import { toStateLike } from './convert.js'
import { patterns } from './schemas.js'

/**
 * The op description keys a `local` source carries for the runtime (they are metadata: they do not change the op's
 * digest). The source is named after the node (`local://<nodeId>`); `kiln.local.path` is the host directory to serve
 * under that name (relative to the config file's directory unless absolute) and `kiln.local.dockerignore` whether
 * its `.dockerignore` applies. {@link localDirs} reads them back from a marshalled definition.
 */
export const LOCAL_PATH_KEY = 'kiln.local.path'
export const LOCAL_DOCKERIGNORE_KEY = 'kiln.local.dockerignore'

const schema = z
  .strictObject({
    path: z.string().min(1).meta({ description: "The host directory to send, relative to the config file's directory (or absolute)." }),
    include: patterns('Send only paths matching these patterns (.dockerignore syntax).').optional(),
    exclude: patterns('Do not send paths matching these patterns (.dockerignore syntax), e.g. ["**/*.log", "node_modules"].').optional(),
    dockerignore: z.boolean().default(true).meta({ description: 'Honour <path>/.dockerignore (default true).' }),
    followPaths: patterns('Send only these paths, and what the symlinks among them point to.').optional(),
  })
  .meta({ description: 'A directory of the host, sent to the engine through the session. Unchanged files are not sent again.' })

/** The config of a `local` node. */
export type LocalNodeConfig = z.input<typeof schema>

/** Options of {@link createLocalType}. */
export interface LocalTypeOptions {
  /** The directory relative `path`s resolve against. Without it they stay relative, for the runtime to resolve. */
  readonly baseDir?: string
}

/** `local`: a host directory. */
export function createLocalType(options: LocalTypeOptions = {}) {
  return defineNodeType({
    kind: 'local',
    description: 'A directory of the host (sources, fixtures), sent to the engine.',
    schema,
    outputs: { default: 'filesystem' },
    compile(node) {
      const { path, include, exclude, dockerignore, followPaths } = node.config
      const served = options.baseDir === undefined || isAbsolute(path) ? path : resolve(options.baseDir, path)
      const state = localSource(node.id, {
        ...(include === undefined ? {} : { include }),
        ...(exclude === undefined ? {} : { exclude }),
        ...(followPaths === undefined ? {} : { followPaths }),
        sharedKeyHint: node.id,
        customName: `local ${path}`,
        description: { [LOCAL_PATH_KEY]: served, [LOCAL_DOCKERIGNORE_KEY]: String(dockerignore) },
      })
      return { default: filesystemArtifact(toStateLike(state)) }
    },
  })
}

/** The `local` node type with relative paths left for the runtime. */
export const localType = createLocalType()

/** kiln.ts factory of {@link localType}: `local({ path: '.', exclude: ['**\/*.log'] })`. */
export const local = createNodeFactory(localType)
