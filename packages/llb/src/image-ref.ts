import { invalid } from './errors.js'

/** A parsed, normalized image reference. */
export interface ImageReference {
  /** Registry host, e.g. `docker.io`, `127.0.0.1:5000`. */
  domain: string
  /** Repository path, e.g. `library/busybox`. */
  path: string
  tag?: string
  digest?: string
  /** The full normalized form: `docker.io/library/busybox:latest`. */
  normalized: string
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG = /^[\w][\w.-]{0,127}$/
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/

/**
 * Normalizes an image reference like Docker: `busybox` → `docker.io/library/busybox:latest`,
 * `user/app:1` → `docker.io/user/app:1`; a reference with a digest gets no `:latest`.
 */
export function normalizeImageRef(ref: string): ImageReference {
  let rest = ref.trim()
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) invalid(`Expected an image digest like sha256:<hex> in ${JSON.stringify(ref)}, received ${JSON.stringify(digest)}`)
  }
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) invalid(`Expected an image tag in ${JSON.stringify(ref)}, received ${JSON.stringify(tag)}`)
  }
  const slash = rest.indexOf('/')
  let domain = 'docker.io'
  let path = rest
  if (slash >= 0) {
    const first = rest.slice(0, slash)
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first
      path = rest.slice(slash + 1)
    }
  }
  if (domain === 'index.docker.io') domain = 'docker.io'
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`
  if (path === '' || !path.split('/').every((component) => COMPONENT.test(component))) {
    invalid(`Expected an image reference (lower-case repository name), received ${JSON.stringify(ref)}`)
  }
  if (!tag && !digest) tag = 'latest'
  const normalized = `${domain}/${path}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`
  return { domain, path, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}), normalized }
}
