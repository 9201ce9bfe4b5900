import { isCoreError, type FrontendRequest, type ImageArtifact, type StateLike } from '@kiln/core'
import { createFakeEngine, fakeFilesystem, NodeTypeTester } from '@kiln/core/testing'
import { decodeDefinition, image, isState, local, MountType, type State } from '@kiln/llb'
import { describe, expect, it } from 'vitest'
import { dockerfileType, frontendSecrets, withSecretIds } from './index.js'

const tester = new NodeTypeTester(dockerfileType)

/** A fake engine whose frontend returns `result` (a real llb State) and records each request. */
function engine(result: State = image('busybox:latest')) {
  const requests: FrontendRequest[] = []
  const services = createFakeEngine({
    solveFrontend: async (request) => {
      requests.push(request)
      return { kind: 'image', state: result, config: { env: ['A=1'], workingDir: '/app', cmd: ['sh'] }, platform: { os: 'linux', architecture: 'amd64' } }
    },
  })
  return { services, requests }
}

function ops(state: StateLike) {
  if (!isState(state)) throw new Error('expected a State')
  return decodeDefinition(state.marshal().bytes).ops
}

describe('dockerfile: frontend options', () => {
  it('maps every option to the dockerfile.v0 attrs, network none by default', async () => {
    const { services, requests } = engine()
    await tester.compile(
      { context: './app', dockerfile: 'docker/Dockerfile.prod', target: 'runtime', args: { VERSION: '1.2.3', DEBUG: true, N: 3 }, labels: { 'org.example.team': 'kiln' }, platform: 'linux/arm64', noCache: true },
      { engine: services },
    )
    expect(requests).toHaveLength(1)
    expect(requests[0]?.frontend).toBe('dockerfile.v0')
    expect(requests[0]?.options).toEqual({
      filename: 'Dockerfile.prod',
      target: 'runtime',
      'build-arg:VERSION': '1.2.3',
      'build-arg:DEBUG': 'true',
      'build-arg:N': '3',
      'label:org.example.team': 'kiln',
      platform: 'linux/arm64',
      'no-cache': '',
      'force-network-mode': 'none',
    })
  })

  it('no-cache for some stages, host network', async () => {
    const { services, requests } = engine()
    const { reports } = await tester.compile({ context: '.', noCache: ['build', 'test'], network: 'host' }, { engine: services })
    expect(requests[0]?.options).toEqual({ filename: 'Dockerfile', 'no-cache': 'build,test', 'force-network-mode': 'host' })
    expect(reports).toEqual([expect.objectContaining({ messageId: 'hostNetwork' })])
  })

  it('a host directory context: local sources for the context (.dockerignore applied) and the Dockerfile\'s directory', async () => {
    const { services, requests } = engine()
    await tester.compile({ context: './app', dockerfile: 'docker/Dockerfile.prod' }, { engine: services, nodeId: 'web' })
    const inputs = requests[0]?.inputs ?? {}
    expect(Object.keys(inputs).sort()).toEqual(['context', 'dockerfile'])
    const [context] = ops(inputs.context as StateLike)
    expect(context?.op.source?.identifier).toBe('local://web.context')
    expect(context?.metadata.description).toMatchObject({ 'kiln.local.path': './app', 'kiln.local.dockerignore': 'true' })
    const [dockerfile] = ops(inputs.dockerfile as StateLike)
    expect(dockerfile?.op.source?.identifier).toBe('local://web.dockerfile')
    expect(dockerfile?.op.source?.attrs?.['local.followpaths']).toBe('["Dockerfile.prod"]')
    expect(dockerfile?.metadata.description).toMatchObject({ 'kiln.local.path': 'app/docker', 'kiln.local.dockerignore': 'false' })
  })

  it('a context from a node goes to the frontend as its inputs (context and dockerfile)', async () => {
    const { services, requests } = engine()
    const src = local('src')
    const { outputs } = await tester.compile({ context: 'gen.ctx', dockerfile: 'build/Dockerfile' }, { engine: services, inputs: { 'gen.ctx': { kind: 'filesystem', state: src } } })
    expect(requests[0]?.inputs).toEqual({ context: src, dockerfile: src })
    expect(requests[0]?.options?.filename).toBe('build/Dockerfile')
    expect(outputs.default.kind).toBe('image')
  })

  it('an inline Dockerfile is a file of its own input', async () => {
    const { services, requests } = engine()
    await tester.compile({ context: 'src', inline: 'FROM busybox:latest\nCOPY . /src\n' }, { engine: services, inputs: { src: fakeFilesystem('src') } })
    const [mkfile] = ops(requests[0]?.inputs?.dockerfile as StateLike)
    expect(mkfile?.op.file?.actions?.[0]?.mkfile).toMatchObject({ path: '/Dockerfile', mode: 0o644 })
    expect(new TextDecoder().decode(mkfile?.op.file?.actions?.[0]?.mkfile?.data)).toBe('FROM busybox:latest\nCOPY . /src\n')
    expect(requests[0]?.options?.filename).toBe('Dockerfile')
  })

  it('the output is the frontend\'s image, with a build target', async () => {
    const result = image('busybox:latest')
    const { services } = engine(result)
    const { outputs, targets, declaredOutputs } = await tester.compile({ context: '.' }, { engine: services })
    expect(declaredOutputs).toEqual({ default: 'image' })
    const artifact = outputs.default as ImageArtifact
    expect(artifact).toMatchObject({ kind: 'image', state: result, config: { env: ['A=1'], workingDir: '/app', cmd: ['sh'] }, platform: { os: 'linux', architecture: 'amd64' } })
    expect(targets).toEqual([expect.objectContaining({ kind: 'build', state: result })])
  })
})

describe('dockerfile: config validation', () => {
  it('rejects dockerfile with inline, a bad platform, a bad network', () => {
    expect(tester.errors({ context: '.', dockerfile: 'Dockerfile', inline: 'FROM scratch' })).toEqual([expect.objectContaining({ code: 'NODE_INVALID_CONFIG', path: ['inline'] })])
    expect(tester.errors({ context: '.', platform: 'nope' })).toEqual([expect.objectContaining({ path: ['platform'] })])
    expect(tester.errors({ context: '.', network: 'bridge' })).toEqual([expect.objectContaining({ path: ['network'] })])
  })

  it('tells a path from a node reference', () => {
    expect(tester.references({ context: './app' })).toEqual([])
    expect(tester.references({ context: { path: 'app' } })).toEqual([])
    expect(tester.references({ context: 'src' })).toEqual([expect.objectContaining({ node: 'src', output: 'default' })])
    expect(tester.references({ context: 'build.out' })).toEqual([expect.objectContaining({ node: 'build', output: 'out' })])
  })

  it('needs an engine', async () => {
    const error = await tester.compile({ context: '.' }).catch((caught: unknown) => caught)
    expect(isCoreError(error)).toBe(true)
    expect(String((error as Error).message) + String((error as { cause?: Error }).cause?.message)).toMatch(/engine/i)
  })
})

function withSecretMount(id: string, optional = false): State {
  return image('busybox:latest').run({ args: ['cat', `/run/secrets/${id}`], mounts: [{ type: 'secret', id, dest: `/run/secrets/${id}`, ...(optional ? { optional: true } : {}) }] }).root()
}

describe('dockerfile: secrets and ssh', () => {
  it('passes the declared secrets, renames Dockerfile ids to them, and asks for them in its target', async () => {
    const { services, requests } = engine(withSecretMount('token'))
    const { outputs, targets } = await tester.compile({ context: '.', secrets: { token: 'api_token' } }, { engine: services })
    expect(requests[0]?.secrets).toEqual(['api_token'])
    expect(targets[0]?.secrets).toEqual(['api_token'])
    const mounts = ops(outputs.default.state).flatMap(({ op }) => op.exec?.mounts ?? []).filter((mount) => mount.mountType === MountType.SECRET)
    expect(mounts.map((mount) => mount.secretOpt?.ID)).toEqual(['api_token'])
  })

  it('fails when the Dockerfile mounts a secret the node does not give, naming it', async () => {
    const { services } = engine(withSecretMount('npmrc'))
    const error = await tester.compile({ context: '.' }, { engine: services }).catch((caught: unknown) => caught)
    expect(String((error as { cause?: Error }).cause?.message)).toMatch(/mounts secret "npmrc"/)
  })

  it('an optional secret needs no mapping', async () => {
    const { services } = engine(withSecretMount('maybe', true))
    await expect(tester.compile({ context: '.' }, { engine: services })).resolves.toBeDefined()
  })

  it('ssh mounts need ssh: true', async () => {
    const withSsh = image('busybox:latest').run({ args: ['true'], mounts: [{ type: 'ssh', dest: '/run/ssh' }] }).root()
    const error = await tester.compile({ context: '.' }, { engine: engine(withSsh).services }).catch((caught: unknown) => caught)
    expect(String((error as { cause?: Error }).cause?.message)).toMatch(/mounts ssh "default"/)
    await expect(tester.compile({ context: '.', ssh: true }, { engine: engine(withSsh).services })).resolves.toBeDefined()
  })

  it('withSecretIds keeps every other op byte for byte', () => {
    const state = withSecretMount('token')
    const renamed = withSecretIds(state, { token: 'api_token' })
    const before = ops(state)
    const after = ops(renamed)
    expect(after[0]?.digest).toBe(before[0]?.digest)
    expect(after[1]?.digest).not.toBe(before[1]?.digest)
    expect(frontendSecrets(renamed)).toEqual({ secrets: [{ id: 'api_token', optional: false }], ssh: [] })
  })
})
