import { z } from '@kiln/core'

/** An absolute path inside a container or filesystem, without characters a shell script or awk would mangle. */
export function absolutePath(description: string) {
  return z
    .string()
    .refine((value) => value.startsWith('/') && !/[\s\\'"$`]/.test(value), {
      error: 'Expected an absolute path',
      params: { expected: 'an absolute path (starting with "/", no whitespace, quotes, "$", "`" or "\\")' },
    })
    .meta({ description })
}

const REGISTRY = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/
const PATH = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/
const TAG = /^[\w][\w.-]{0,127}$/

/**
 * Where an image is pushed: `host[:port]/repository[:tag]`, with an explicit registry host (a first component with a
 * `.` or `:`, or `localhost`), because a push to an implied Docker Hub is almost never what a pipeline means. No
 * tag means `latest`. Digests are refused: a registry names what it receives by tag.
 */
export function parsePushTarget(value: string): { registry: string; repository: string; tag: string } | { error: string } {
  if (value.includes('@')) return { error: 'a tag, not a digest (a registry names pushed manifests by tag)' }
  const slash = value.indexOf('/')
  const registry = slash > 0 ? value.slice(0, slash) : ''
  if (!(registry.includes('.') || registry.includes(':') || registry === 'localhost' || registry.startsWith('[')) || !REGISTRY.test(registry)) {
    return { error: 'a registry host first ("127.0.0.1:5000/app:1.0", "registry.example.com/team/app:1.0")' }
  }
  let rest = value.slice(slash + 1)
  let tag = 'latest'
  const colon = rest.lastIndexOf(':')
  if (colon >= 0) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) return { error: `a valid tag (letters, digits, "_", ".", "-"; at most 128), received "${tag}"` }
  }
  if (!PATH.test(rest)) return { error: `a lowercase repository path, received "${rest}"` }
  return { registry, repository: `${registry}/${rest}`, tag }
}

/** The `to` of `deploy.push`, normalised to `host[:port]/repository:tag`. */
export const pushTarget = z
  .string()
  .min(1)
  .superRefine((value, context) => {
    const parsed = parsePushTarget(value)
    if ('error' in parsed) context.addIssue({ code: 'custom', message: `Expected ${parsed.error}`, params: { expected: parsed.error } })
  })
  .transform((value) => {
    const parsed = parsePushTarget(value)
    return 'error' in parsed ? value : `${parsed.repository}:${parsed.tag}`
  })
  .meta({ description: 'Where to push: "host[:port]/repository[:tag]" (no tag: latest), e.g. "127.0.0.1:5000/app:1.0".' })

/** `cache` of every deploy node: side effects run again on every run unless asked. */
export const cacheOption = z
  .boolean()
  .default(false)
  .meta({ description: 'Let the engine serve this deploy from cache when nothing changed (default false: the side effect happens on every run).' })
