import { z } from '@kiln/core'
import { parsePlatform } from '@kiln/llb'

/** An absolute path inside a container or filesystem. */
export function absolutePath(description: string) {
  return z
    .string()
    .refine((value) => value.startsWith('/'), { error: 'Expected an absolute path', params: { expected: 'an absolute path (starting with "/")' } })
    .meta({ description })
}

/** `os/arch[/variant]`, checked with llb's parser. */
export const platformSchema = z
  .string()
  .refine(
    (value) => {
      try {
        parsePlatform(value)
        return true
      } catch {
        return false
      }
    },
    { error: 'Expected a platform', params: { expected: 'a platform as "os/arch[/variant]" (linux/amd64, linux/arm64)' } },
  )
  .meta({ description: 'Target platform as "os/arch[/variant]", e.g. "linux/amd64" or "linux/arm64". Default: the engine\'s.' })

/** `.dockerignore`-style patterns. */
export function patterns(description: string) {
  return z.array(z.string().min(1)).meta({ description })
}

/**
 * An image reference written as a string. To tell it from a node reference (`src`, `build.bin`) it must contain a
 * tag, digest or registry separator (`:`, `@` or `/`): `busybox:latest`, `debian:bookworm`, `registry/app`.
 */
export const IMAGE_REF_PATTERN = /^[a-z0-9][a-z0-9._\-/:@]*$/i

export const imageRefString = z
  .string()
  .refine((value) => IMAGE_REF_PATTERN.test(value) && /[:/@]/.test(value), {
    error: 'Expected an image reference',
    params: { expected: 'an image reference with a tag, digest or registry ("busybox:latest", "debian:bookworm")' },
  })
  .meta({ description: 'An image reference with a tag, digest or registry path ("busybox:latest", "debian:bookworm", "registry.local/app@sha256:…").' })

/** A string, or a number or boolean written unquoted in YAML, as a string. */
export const stringish = z.union([z.string(), z.number(), z.boolean()]).transform((value) => String(value))

/** The environment variable names BuildKit and shells accept. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
