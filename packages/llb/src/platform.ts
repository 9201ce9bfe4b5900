import { invalid } from './errors.js'
import type { PbPlatform } from './pb/types.js'

/** A target platform, as in the OCI image index. */
export interface Platform {
  os: string
  architecture: string
  variant?: string
  osVersion?: string
  osFeatures?: readonly string[]
}

const ARCH_ALIASES: Record<string, [string, string?]> = {
  x86_64: ['amd64'], 'x86-64': ['amd64'], amd64: ['amd64'],
  aarch64: ['arm64'], arm64: ['arm64'],
  armhf: ['arm', 'v7'], armel: ['arm', 'v6'], arm: ['arm'],
  i386: ['386'], i686: ['386'], '386': ['386'],
}

/**
 * Normalizes a platform like containerd's `platforms.Normalize`: lower case, architecture aliases (`x86_64` →
 * `amd64`, `aarch64` → `arm64`), `arm` defaults to variant `v7`, `arm64/v8` drops its variant.
 */
export function normalizePlatform(platform: Platform | string): Platform {
  const value = typeof platform === 'string' ? parsePlatform(platform) : platform
  const os = value.os.toLowerCase()
  const alias = ARCH_ALIASES[value.architecture.toLowerCase()]
  const architecture = alias?.[0] ?? value.architecture.toLowerCase()
  let variant = value.variant?.toLowerCase() || alias?.[1] || undefined
  if (architecture === 'arm' && !variant) variant = 'v7'
  if (architecture === 'arm64' && variant === 'v8') variant = undefined
  if (architecture === 'amd64' && variant === 'v1') variant = undefined
  return {
    os,
    architecture,
    ...(variant ? { variant } : {}),
    ...(value.osVersion ? { osVersion: value.osVersion } : {}),
    ...(value.osFeatures?.length ? { osFeatures: [...value.osFeatures] } : {}),
  }
}

/** Parses `os/arch[/variant]`, e.g. `linux/arm/v7`. */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/')
  if (parts.length < 2 || parts.length > 3 || parts.some((part) => part === '')) {
    invalid(`Expected a platform as "os/arch[/variant]", received ${JSON.stringify(text)}`)
  }
  const [os, architecture, variant] = parts as [string, string, string?]
  return normalizePlatform({ os, architecture, ...(variant ? { variant } : {}) })
}

/** Formats a platform as `os/arch[/variant]`. */
export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/')
}

/** The platform of this machine, as Go's `platforms.DefaultSpec()` would give it (always linux: containers). */
export function defaultPlatform(): Platform {
  return normalizePlatform({ os: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch })
}

/** @internal The empty `WorkerConstraints` Go sets on every non-terminal op, shared. */
export const EMPTY_CONSTRAINTS = Object.freeze({})

const platformCache = new WeakMap<Platform, PbPlatform>()

/**
 * toPB: `pb.Platform` with Go's field set (OS, Architecture, Variant, OSVersion, OSFeatures). The result is shared
 * per Platform object and frozen: many ops carry the same platform.
 */
export function platformToPB(platform: Platform): PbPlatform {
  let pb = platformCache.get(platform)
  if (!pb) {
    pb = Object.freeze(platformToPBUncached(platform))
    platformCache.set(platform, pb)
  }
  return pb
}

function platformToPBUncached(platform: Platform): PbPlatform {
  return {
    Architecture: platform.architecture,
    OS: platform.os,
    ...(platform.variant ? { Variant: platform.variant } : {}),
    ...(platform.osVersion ? { OSVersion: platform.osVersion } : {}),
    ...(platform.osFeatures?.length ? { OSFeatures: [...platform.osFeatures] } : {}),
  }
}
