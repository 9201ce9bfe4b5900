/**
 * `@kiln/plugin-dockerfile`: a node that builds a Dockerfile with BuildKit's `dockerfile.v0` frontend. Its image
 * (filesystem and OCI config) feeds other nodes of the same run: `run` in it, `copy` out of it, export or push it.
 * Written as any third-party plugin would be: it depends on `@kiln/core` and `@kiln/llb` only, and runs the
 * frontend through core's `EngineServices.solveFrontend`.
 *
 * @packageDocumentation
 */
import { dockerfilePlugin } from './plugin.js'

export default dockerfilePlugin
export { dockerfilePlugin }
export type { DockerfilePluginOptions } from './plugin.js'
export { createDockerfileType, dockerfile, dockerfileType, DOCKERFILE_FRONTEND, LOCAL_DOCKERIGNORE_KEY, LOCAL_PATH_KEY } from './dockerfile.js'
export type { DockerfileNodeConfig, DockerfileTypeOptions } from './dockerfile.js'
export { dockerfileLocation, frontendOptions } from './options.js'
export type { FrontendOptionsInput } from './options.js'
export { frontendSecrets, withSecretIds } from './secrets.js'
export type { FrontendMounts } from './secrets.js'
