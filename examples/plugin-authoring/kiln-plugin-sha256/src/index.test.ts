import { filesystemArtifact } from '@kiln/core'
import { NodeTypeTester } from '@kiln/core/testing'
import { decodeDefinition, isState, local, NetMode } from '@kiln/llb'
import { describe, expect, it } from 'vitest'
import sha256Plugin, { sumsType } from './index.js'

const tester = new NodeTypeTester(sumsType)

describe('sha256.sums', () => {
  it('is a plugin with one node type', () => {
    const plugin = sha256Plugin()
    expect(plugin.apiVersion).toBe('v1')
    expect(plugin.nodeTypes.map((type) => type.kind)).toEqual(['sha256.sums'])
  })

  it('rejects a relative path and names the field', () => {
    const [error] = tester.errors({ from: 'site', path: 'www' })
    expect(error?.message).toContain('path')
  })

  it('references its input', () => {
    expect(tester.references({ from: 'site.www' })).toEqual([expect.objectContaining({ node: 'site', output: 'www', path: ['from'] })])
  })

  it('runs sha256sum over the input, hermetically, and outputs the mounted tree', async () => {
    const site = local('site')
    const { outputs } = await tester.compile({ from: 'site', path: '/www' }, { inputs: { site: filesystemArtifact(site) } })
    const state = outputs.default.state
    expect(isState(state)).toBe(true)
    if (!isState(state)) return
    const { ops } = decodeDefinition(state.marshal().bytes)
    const exec = ops.find((entry) => entry.op.exec)?.op.exec
    expect(exec?.meta?.args?.at(-1)).toContain('sha256sum > SHA256SUMS')
    expect(exec?.network).toBe(NetMode.NONE)
    const data = exec?.mounts?.find((mount) => mount.dest === '/data')
    expect(data).toMatchObject({ selector: '/www', output: 1 })
    expect(ops.some((entry) => entry.op.source?.identifier === 'local://site')).toBe(true)
    expect(ops.some((entry) => entry.op.source?.identifier === 'docker-image://docker.io/library/busybox:latest')).toBe(true)
  })
})
