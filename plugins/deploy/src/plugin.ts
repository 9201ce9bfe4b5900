import { createRequire } from 'node:module'
import { definePlugin, type Plugin } from '@kiln/core'
import { createExportType } from './export.js'
import { pushType } from './push.js'
import { runType } from './run.js'

const pkg = createRequire(import.meta.url)('../package.json') as { name: string; version: string }

/** Options of {@link deployPlugin}. */
export interface DeployPluginOptions {
  /** The directory relative `deploy.export` destinations resolve against; without it, the runtime's project directory. */
  readonly baseDir?: string
}

/**
 * The deploy node types: `deploy.push`, `deploy.export`, `deploy.run`. Each is a side effect (phase `publish`): it
 * runs only after every build and check of the run succeeded, runs again on every run unless its `cache` is true,
 * and reports what it did as its value.
 */
export function deployPlugin(options: DeployPluginOptions = {}): Plugin {
  return definePlugin({
    meta: { name: pkg.name, version: pkg.version },
    apiVersion: 'v1',
    nodeTypes: [pushType, createExportType(options.baseDir === undefined ? {} : { baseDir: options.baseDir }), runType],
  })
}
