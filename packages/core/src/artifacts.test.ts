import { describe, expect, it } from 'vitest'
import { toOciImageConfig } from './artifacts.js'

describe('toOciImageConfig', () => {
  it('renames every field to its OCI name and leaves unset fields absent', () => {
    expect(
      toOciImageConfig({ env: ['A=1'], workingDir: '/w', user: '1000', entrypoint: ['/e'], cmd: ['c'], labels: { l: 'v' }, exposedPorts: ['80/tcp'], volumes: ['/data'], stopSignal: 'SIGTERM' }),
    ).toEqual({ Env: ['A=1'], WorkingDir: '/w', User: '1000', Entrypoint: ['/e'], Cmd: ['c'], Labels: { l: 'v' }, ExposedPorts: { '80/tcp': {} }, Volumes: { '/data': {} }, StopSignal: 'SIGTERM' })
    expect(toOciImageConfig({ user: 'nobody' })).toEqual({ User: 'nobody' })
  })
})
