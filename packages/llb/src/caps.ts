/**
 * LLB capability ids (buildkit-wire.md §3.9) and the cap sets of the engines Kiln supports.
 */

/** The 42 LLB caps dockerd 20.10.24 (BuildKit v0.8) advertises (verified live). */
export const BUILDKIT_V0_8_CAPS: readonly string[] = [
  'constraints', 'platform', 'meta.description', 'meta.exportcache', 'meta.ignorecache',
  'source.image', 'source.image.resolvemode',
  'source.local', 'source.local.unique', 'source.local.sessionid', 'source.local.includepatterns',
  'source.local.followpaths', 'source.local.excludepatterns', 'source.local.sharedkeyhint',
  'source.git', 'source.git.keepgitdir', 'source.git.fullurl', 'source.git.httpauth', 'source.git.knownsshhosts',
  'source.git.mountsshsock',
  'source.http', 'source.http.checksum', 'source.http.perm', 'soruce.http.uidgid',
  'source.buildop.llbfilename',
  'exec.meta.base', 'exec.meta.proxyenv', 'exec.meta.network', 'exec.meta.security', 'exec.meta.security.devices.v1',
  'exec.meta.setsdefaultpath', 'exec.mount.bind', 'exec.mount.bind.readwrite-nooutput', 'exec.mount.cache',
  'exec.mount.cache.sharing', 'exec.mount.selector', 'exec.mount.tmpfs', 'exec.mount.secret', 'exec.mount.ssh', 'exec.cgroup',
  'file.base', 'file.rm.wildcard',
]

/** The 21 LLB caps dockerd 26.1 (BuildKit v0.13) advertises on top of v0.8's (verified live). */
export const BUILDKIT_V0_13_NEW_CAPS: readonly string[] = [
  'cache.azblob', 'cache.gha', 'cache.s3', 'diffop', 'exec.meta.cgroup.parent', 'exec.meta.ulimit',
  'exec.mount.cache.content', 'exec.mount.tmpfs.size', 'exec.secretenv', 'exporter.image.annotations',
  'exporter.image.attestations', 'exporter.multiple', 'exporter.sourcedateepoch', 'file.copy.includeexcludepatterns',
  'file.rm.nofollowsymlink', 'mergeop', 'source.git.subdir', 'source.image.layerlimit', 'source.local.differ',
  'source.ocilayout', 'source.policy',
]

/**
 * What an engine supports: the LLB caps it advertises as enabled, and those it advertises but disabled, with the
 * reason it gave (`LLBBridge/Ping` `LLBCaps[].Enabled` / `DisabledReasonMsg`). Build it from the engine's answer.
 */
export interface EngineCaps {
  readonly enabled: ReadonlySet<string>
  readonly disabled?: ReadonlyMap<string, string>
}

/** An engine description to spread into `marshal()` options: its caps and its name for messages. */
export interface EngineProfile {
  readonly caps: EngineCaps
  readonly engine: string
}

/** dockerd 20.10.24 with its embedded BuildKit v0.8. */
export const DOCKERD_20_10: EngineProfile = Object.freeze({
  caps: { enabled: new Set(BUILDKIT_V0_8_CAPS) },
  engine: 'dockerd 20.10 (BuildKit v0.8)',
})

/**
 * dockerd 26.1 with its embedded BuildKit v0.13 and the classic image store: `mergeop` and `diffop` are advertised
 * but disabled (merge and diff are then sent without their cap, which builds, wire doc 13.6), and `source.ocilayout`
 * is advertised yet dockerd has no `oci-layout` scheme, so it is listed here as disabled.
 */
export const DOCKERD_26_1: EngineProfile = Object.freeze({
  caps: {
    enabled: new Set([...BUILDKIT_V0_8_CAPS, ...BUILDKIT_V0_13_NEW_CAPS].filter((cap) => cap !== 'mergeop' && cap !== 'diffop' && cap !== 'source.ocilayout')),
    disabled: new Map([
      ['mergeop', 'only enabled with containerd image store backend'],
      ['diffop', 'only enabled with containerd image store backend'],
      ['source.ocilayout', 'dockerd advertises it but has no oci-layout scheme (unknown scheme oci-layout)'],
    ]),
  },
  engine: 'dockerd 26.1 (BuildKit v0.13)',
})

/** Caps that Kiln never attaches: declared upstream but registered by no release (wire doc 13.6). */
export const NEVER_SEND_CAPS: ReadonlySet<string> = new Set(['exec.meta.removemountstubs.recursive'])

/** Human names of caps, for error messages. */
export const CAP_FEATURES: Readonly<Record<string, string>> = {
  'source.image': 'image sources',
  'source.image.resolvemode': 'image resolve mode pull',
  'source.image.layerlimit': 'image layer limit',
  'source.local': 'local sources',
  'source.local.unique': 'local source unique id',
  'source.local.sessionid': 'local source session binding',
  'source.local.includepatterns': 'local source include patterns',
  'source.local.excludepatterns': 'local source exclude patterns',
  'source.local.followpaths': 'local source follow paths',
  'source.local.sharedkeyhint': 'local source shared key hint',
  'source.local.differ': 'local source differ',
  'source.git': 'git sources',
  'source.git.keepgitdir': 'git keep .git',
  'source.git.fullurl': 'git full URL',
  'source.git.httpauth': 'git auth secrets',
  'source.git.knownsshhosts': 'git known ssh hosts',
  'source.git.mountsshsock': 'git ssh socket',
  'source.git.subdir': 'git subdirectory',
  'source.http': 'http sources',
  'source.http.checksum': 'http checksum',
  'source.http.perm': 'http file permissions',
  'soruce.http.uidgid': 'http file owner',
  'source.ocilayout': 'OCI layout sources',
  'exec.meta.base': 'exec',
  'exec.meta.proxyenv': 'exec proxy environment',
  'exec.meta.network': 'exec network mode',
  'exec.meta.security': 'exec security mode',
  'exec.meta.setsdefaultpath': 'engine default PATH',
  'exec.meta.ulimit': 'exec ulimits',
  'exec.meta.cgroup.parent': 'exec cgroup parent',
  'exec.validexitcode': 'exec valid exit codes',
  'exec.secretenv': 'secrets as environment variables',
  'exec.mount.bind': 'bind mounts',
  'exec.mount.selector': 'mount selectors',
  'exec.mount.cache': 'cache mounts',
  'exec.mount.cache.sharing': 'cache mount sharing',
  'exec.mount.tmpfs': 'tmpfs mounts',
  'exec.mount.tmpfs.size': 'tmpfs mount size',
  'exec.mount.secret': 'secret mounts',
  'exec.mount.ssh': 'ssh mounts',
  'file.base': 'file operations',
  'file.rm.wildcard': 'rm with wildcards',
  'file.copy.includeexcludepatterns': 'copy include/exclude patterns',
  'file.copy.alwaysreplaceexistingdestpaths': 'copy always replacing existing paths',
  'file.copy.modestring': 'copy symbolic mode',
  mergeop: 'merge',
  diffop: 'diff',
}

/** One LLB cap as an engine advertises it (`LLBBridge/Ping` → `LLBCaps`). */
export interface AdvertisedCap {
  readonly id: string
  readonly enabled: boolean
  readonly disabledReason?: string | undefined
}

/**
 * Builds marshal options from the caps an engine advertised: enabled caps, and disabled ones with their reason.
 * For dockerd (`docker: true`), `source.ocilayout` is treated as disabled even when advertised, because dockerd has
 * no `oci-layout` scheme (wire doc 13.6).
 *
 * @example
 * ```ts
 * const caps = await client.capabilities()
 * state.marshal({ ...engineProfile(caps.llbCaps, `dockerd ${caps.dockerVersion}`, { docker: caps.docker }) })
 * ```
 */
export function engineProfile(caps: readonly AdvertisedCap[], engine: string, options: { docker?: boolean } = {}): EngineProfile {
  const enabled = new Set<string>()
  const disabled = new Map<string, string>()
  for (const cap of caps) {
    if (cap.enabled) enabled.add(cap.id)
    else disabled.set(cap.id, cap.disabledReason || 'disabled by the engine')
  }
  if (options.docker && enabled.delete('source.ocilayout')) {
    disabled.set('source.ocilayout', 'dockerd advertises it but has no oci-layout scheme (unknown scheme oci-layout)')
  }
  return { caps: { enabled, disabled }, engine }
}
