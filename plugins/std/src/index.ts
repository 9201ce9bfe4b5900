/**
 * `@kiln/plugin-std`: the basic node types every pipeline uses, written as any third-party plugin would be (it
 * depends on `@kiln/core` and `@kiln/llb` only).
 *
 * @packageDocumentation
 */
import { stdPlugin } from './plugin.js'

export default stdPlugin
export { stdPlugin }
export type { StdPluginOptions } from './plugin.js'

export { defineConfig } from '@kiln/core'

export { image, imageType } from './image.js'
export type { ImageNodeConfig } from './image.js'
export { createLocalType, local, localType, LOCAL_DOCKERIGNORE_KEY, LOCAL_PATH_KEY } from './local.js'
export type { LocalNodeConfig, LocalTypeOptions } from './local.js'
export { git, gitType, http, httpType } from './sources.js'
export type { GitNodeConfig, HttpNodeConfig } from './sources.js'
export { run, runType } from './run.js'
export type { RunNodeConfig } from './run.js'
export { copy, copyType, merge, mergeType } from './files.js'
export type { CopyNodeConfig, MergeNodeConfig } from './files.js'
export { createExportType, exportTo, exportType } from './export.js'
export type { ExportNodeConfig, ExportTypeOptions } from './export.js'
export { definitionRequirements, parseDockerignore, readDockerignore } from './runtime.js'
export type { DefinitionRequirements, LocalDirectory } from './runtime.js'
export { toState, toStateLike } from './convert.js'
