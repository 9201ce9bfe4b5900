import { createRequire } from 'node:module'
import { definePlugin, type Plugin } from '@kiln/core'
import { createExportType } from './export.js'
import { copyType, mergeType } from './files.js'
import { imageType } from './image.js'
import { createLocalType } from './local.js'
import { runType } from './run.js'
import { gitType, httpType } from './sources.js'

const pkg = createRequire(import.meta.url)('../package.json') as { name: string; version: string }

/** Options of {@link stdPlugin}. */
export interface StdPluginOptions {
  /**
   * The directory relative `local` paths and `export` destinations resolve against (the config file's directory).
   * Without it they stay relative in the plan, and the runtime resolves them against the config file's directory.
   */
  readonly baseDir?: string
}

/**
 * The standard node types: `image`, `local`, `git`, `http`, `run`, `copy`, `merge`, `export`. The CLI always loads
 * it; a kiln.ts may list it explicitly (`plugins: [stdPlugin()]`).
 */
export function stdPlugin(options: StdPluginOptions = {}): Plugin {
  const baseDir = options.baseDir === undefined ? {} : { baseDir: options.baseDir }
  return definePlugin({
    meta: { name: pkg.name, version: pkg.version },
    apiVersion: 'v1',
    nodeTypes: [imageType, createLocalType(baseDir), gitType, httpType, runType, copyType, mergeType, createExportType(baseDir)],
  })
}
