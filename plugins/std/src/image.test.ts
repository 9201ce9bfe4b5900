import { createFakeEngine, NodeTypeTester } from '@kiln/core/testing'
import { describe, expect, it } from 'vitest'
import { execOf, marshal, resultOp, stateOf } from './__fixtures__/llb.js'
import { imageType } from './image.js'
import { runType } from './run.js'

const tester = new NodeTypeTester(imageType)

describe('image', () => {
  it('validates its config with paths into it', () => {
    expect(tester.errors({ ref: 'debian:bookworm', platform: 'linux/arm64', resolveMode: 'local' })).toEqual([])
    expect(tester.errors({}).map((error) => [error.path, error.message])).toEqual([
      [['ref'], 'Node "node" has invalid config at ref: expected string, received nothing (the field is missing)'],
    ])
    expect(tester.errors({ ref: 'busybox:latest', platform: 'linux', resolveMode: 'always', tag: 'x' }).map((error) => [error.path, error.message])).toEqual([
      [['platform'], 'Node "node" has invalid config at platform: expected a platform as "os/arch[/variant]" (linux/amd64, linux/arm64), received "linux"'],
      [['resolveMode'], 'Node "node" has invalid config at resolveMode: expected one of "default", "pull", "local", received "always"'],
      [['tag'], 'Node "node" has invalid config at tag: expected a known field, received unknown field "tag"'],
    ])
  })

  it('is an image source with an empty config when there is no engine', async () => {
    const { outputs, targets, declaredOutputs } = await tester.compile({ ref: 'busybox:latest' })
    expect(declaredOutputs).toEqual({ default: 'image' })
    expect(targets).toEqual([])
    expect(outputs.default).toMatchObject({ kind: 'image', config: {}, ref: 'busybox:latest' })
    const definition = marshal(stateOf(outputs.default))
    expect(resultOp(definition).op.source).toEqual({ identifier: 'docker-image://docker.io/library/busybox:latest', attrs: {} })
    expect(resultOp(definition).op.platform).toEqual({ OS: 'linux', Architecture: 'amd64' })
    // Golden: the image source is content-addressed and stable.
    expect(resultOp(definition).digest).toBe('sha256:08a03f3ffe5fba421a6403c31e153425ced631d108868f30e04985f99d69326e')
  })

  it('takes the OCI config from the engine, so run nodes on it get its env, workdir and user', async () => {
    const engine = createFakeEngine({ images: { 'debian:bookworm': { env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8'], workingDir: '/work', user: 'builder' } } })
    const { outputs } = await tester.compile({ ref: 'debian:bookworm', platform: 'linux/arm64', resolveMode: 'pull' }, { nodeId: 'base', engine })
    expect(engine.calls).toEqual([{ method: 'resolveImageConfig', args: ['debian:bookworm'] }])
    expect(outputs.default).toMatchObject({ kind: 'image', ref: 'debian:bookworm', platform: { os: 'linux', architecture: 'arm64' }, config: { workingDir: '/work', user: 'builder' } })
    const source = resultOp(marshal(stateOf(outputs.default)))
    expect(source.op.source).toEqual({ identifier: 'docker-image://docker.io/library/debian:bookworm', attrs: { 'image.resolvemode': 'pull' } })
    expect(source.op.platform).toEqual({ OS: 'linux', Architecture: 'arm64' })

    const ran = await new NodeTypeTester(runType).compile({ from: 'base', command: ['make'] }, { inputs: { base: outputs.default } })
    const { op } = execOf(marshal(stateOf(ran.outputs.default)))
    expect(op.meta).toEqual({ args: ['make'], env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8'], cwd: '/work', user: 'builder' })
    expect(ran.outputs.default).toMatchObject({ kind: 'image', config: { workingDir: '/work' } })
  })

  it('fails compile with the engine error when the engine does not know the image', async () => {
    const error = await tester.compile({ ref: 'nope:1' }, { engine: createFakeEngine() }).catch((caught: unknown) => caught)
    expect((error as Error).message).toContain('Unknown image')
  })
})
