import { createRequire } from 'node:module'
import { definePlugin, type Plugin } from '@kiln/core'
import { createDockerfileType } from './dockerfile.js'

const pkg = createRequire(import.meta.url)('../package.json') as { name: string; version: string }

/** Options of {@link dockerfilePlugin}. */
export interface DockerfilePluginOptions {
  /** The directory relative context paths resolve against (the config file's directory); default: the runtime's. */
  readonly baseDir?: string
}

/** The `dockerfile` node type: `plugins: ["@kiln/plugin-dockerfile"]`, or `plugins: [dockerfilePlugin()]` in kiln.ts. */
export function dockerfilePlugin(options: DockerfilePluginOptions = {}): Plugin {
  return definePlugin({
    meta: { name: pkg.name, version: pkg.version },
    apiVersion: 'v1',
    nodeTypes: [createDockerfileType(options.baseDir === undefined ? {} : { baseDir: options.baseDir })],
  })
}
