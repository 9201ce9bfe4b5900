import { describe, expect, it } from 'vitest'
import { BUILDKIT_V0_13_NEW_CAPS, BUILDKIT_V0_8_CAPS, DOCKERD_26_1, engineProfile, image, merge, mkfile, scratch } from './index.js'

describe('engineProfile', () => {
  const advertised = [...BUILDKIT_V0_8_CAPS, ...BUILDKIT_V0_13_NEW_CAPS].map((id) => ({
    id,
    enabled: id !== 'mergeop' && id !== 'diffop',
    ...(id === 'mergeop' || id === 'diffop' ? { disabledReason: 'only enabled with containerd image store backend' } : {}),
  }))

  it('splits enabled and disabled caps and applies the dockerd oci-layout quirk', () => {
    const profile = engineProfile(advertised, 'dockerd 26.1.5', { docker: true })
    expect([...profile.caps.enabled].sort()).toEqual([...DOCKERD_26_1.caps.enabled].sort())
    expect(profile.caps.disabled).toEqual(DOCKERD_26_1.caps.disabled)
    expect(engineProfile(advertised, 'buildkitd').caps.enabled.has('source.ocilayout')).toBe(true)
  })

  it('drives marshal like the preset', () => {
    const state = merge([image('busybox'), scratch().file(mkfile('/a', 'a'))])
    const options = { platform: 'linux/amd64' }
    expect(state.marshal({ ...options, ...engineProfile(advertised, 'x', { docker: true }) }).bytes).toEqual(state.marshal({ ...options, ...DOCKERD_26_1 }).bytes)
  })
})
