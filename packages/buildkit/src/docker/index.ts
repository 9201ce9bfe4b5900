/**
 * Docker Engine API helpers over a `docker://` address (dockerd's own socket), for what dockerd's embedded BuildKit
 * cannot do itself: pushing an image (it has no `image` exporter), tagging and inspecting images.
 */
export { apiError, dockerJson, dockerRequest, jsonMessages } from './api.js'
export type { DockerEndpoint, DockerRequestOptions, DockerResponse } from './api.js'
export { credentialsFromSecret, encodeRegistryAuth, inspectImage, parseImageName, pushImage, tagImage } from './images.js'
export type { ImageInspect, ImageName, PushImageOptions, PushResult, RegistryCredentials } from './images.js'
