/**
 * `@kiln/plugin-deploy`: push images, export artifacts, run deploy commands with secrets. Every node is a side effect
 * of phase `publish`: it runs after every check of the run passed. Written as any third-party plugin (it depends on
 * `@kiln/core` and `@kiln/llb` only; pushing is the engine's job, asked for with an `image` exporter).
 *
 * @packageDocumentation
 */
import { deployPlugin } from './plugin.js'

export default deployPlugin
export { deployPlugin }
export type { DeployPluginOptions } from './plugin.js'
export { push, pushType } from './push.js'
export type { PushNodeConfig } from './push.js'
export { createExportType, exportTo, exportType } from './export.js'
export type { ExportNodeConfig, ExportTypeOptions } from './export.js'
export { deployRun, runType, OUTPUT_DIR, RUN_NONCE_ENV, STDOUT_FILE } from './run.js'
export type { RunNodeConfig } from './run.js'
export { parsePushTarget } from './schemas.js'
