import { describe, expect, it } from 'vitest'
import { parseEngineAddress, PROJECT_ENGINE_SOCKET, resolveEngineAddress } from './address.js'

describe('engine addresses', () => {
  it('parses every form', () => {
    expect(parseEngineAddress('unix:///run/buildkit/buildkitd.sock')).toMatchObject({ kind: 'unix', socketPath: '/run/buildkit/buildkitd.sock' })
    expect(parseEngineAddress('tcp://127.0.0.1:1234')).toMatchObject({ kind: 'tcp', host: '127.0.0.1', port: 1234 })
    expect(parseEngineAddress('docker://')).toMatchObject({ kind: 'docker', socketPath: '/var/run/docker.sock' })
    expect(parseEngineAddress('docker:///run/kiln/current/docker.sock')).toMatchObject({ kind: 'docker', socketPath: '/run/kiln/current/docker.sock' })
    expect(parseEngineAddress('docker-container://buildkitd?context=remote')).toMatchObject({ kind: 'docker-container', container: 'buildkitd', context: 'remote' })
    expect(parseEngineAddress('tcp://h:1', { serverName: 'x' })).toMatchObject({ tls: { serverName: 'x' } })
  })

  it('refuses malformed addresses with the forms it expects', () => {
    expect(() => parseEngineAddress('ftp://x')).toThrow(/unknown scheme ftp/)
    expect(() => parseEngineAddress('tcp://nohost')).toThrow(/host and a port/)
    expect(() => parseEngineAddress('unix://relative')).toThrow(/absolute socket path/)
    expect(() => parseEngineAddress('/just/a/path')).toThrow(/Expected unix:/)
  })

  it('resolves option, KILN_ENGINE, BUILDKIT_HOST, DOCKER_HOST, then the project engine', () => {
    const env = { KILN_ENGINE: 'unix:///a.sock', BUILDKIT_HOST: 'unix:///b.sock', DOCKER_HOST: 'unix:///c.sock' }
    expect(resolveEngineAddress('unix:///o.sock', env)).toMatchObject({ from: 'option', socketPath: '/o.sock' })
    expect(resolveEngineAddress(undefined, env)).toMatchObject({ from: 'KILN_ENGINE', socketPath: '/a.sock' })
    expect(resolveEngineAddress(undefined, { BUILDKIT_HOST: 'unix:///b.sock', DOCKER_HOST: 'unix:///c.sock' })).toMatchObject({ from: 'BUILDKIT_HOST', kind: 'unix' })
    // DOCKER_HOST is a Docker API address: unix:// there means dockerd.
    expect(resolveEngineAddress(undefined, { DOCKER_HOST: 'unix:///c.sock' })).toMatchObject({ from: 'DOCKER_HOST', kind: 'docker', socketPath: '/c.sock' })
    expect(resolveEngineAddress(undefined, {})).toMatchObject({ from: 'default', kind: 'docker', socketPath: PROJECT_ENGINE_SOCKET })
  })
})
