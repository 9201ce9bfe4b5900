import { describe, expect, it } from 'vitest'
import { fromOciImageConfig, toOciImageConfig } from './artifacts.js'

describe('toOciImageConfig', () => {
  it('renames every field to its OCI name and leaves unset fields absent', () => {
    expect(
      toOciImageConfig({ env: ['A=1'], workingDir: '/w', user: '1000', entrypoint: ['/e'], cmd: ['c'], labels: { l: 'v' }, exposedPorts: ['80/tcp'], volumes: ['/data'], stopSignal: 'SIGTERM' }),
    ).toEqual({ Env: ['A=1'], WorkingDir: '/w', User: '1000', Entrypoint: ['/e'], Cmd: ['c'], Labels: { l: 'v' }, ExposedPorts: { '80/tcp': {} }, Volumes: { '/data': {} }, StopSignal: 'SIGTERM' })
    expect(toOciImageConfig({ user: 'nobody' })).toEqual({ User: 'nobody' })
  })
})

describe('fromOciImageConfig', () => {
  const full = { env: ['A=1'], workingDir: '/w', user: '1000', entrypoint: ['/e'], cmd: ['c'], labels: { l: 'v' }, exposedPorts: ['80/tcp'], volumes: ['/data'], stopSignal: 'SIGTERM' }

  it('reads every field of an OCI image config document, and its platform', () => {
    expect(fromOciImageConfig({ config: toOciImageConfig(full), os: 'linux', architecture: 'arm64', variant: 'v8' })).toEqual({
      config: full,
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    })
    expect(fromOciImageConfig({ config: { User: 'nobody' }, os: 'linux', architecture: 'amd64' })).toEqual({ config: { user: 'nobody' }, platform: { os: 'linux', architecture: 'amd64' } })
  })

  it('leaves absent, empty and mistyped fields unset, and a document without a platform without one', () => {
    expect(fromOciImageConfig({})).toEqual({ config: {} })
    expect(fromOciImageConfig({ config: null, os: 'linux' })).toEqual({ config: {} })
    expect(fromOciImageConfig({ config: { WorkingDir: '', User: 7, StopSignal: '', Env: ['A=1', 2], Labels: null, Cmd: 'sh' } })).toEqual({ config: { env: ['A=1'] } })
  })

  it('copies labels (the result does not share the document)', () => {
    const labels = { a: 'b' }
    const { config } = fromOciImageConfig({ config: { Labels: labels } })
    labels.a = 'changed'
    expect(config.labels).toEqual({ a: 'b' })
  })
})
