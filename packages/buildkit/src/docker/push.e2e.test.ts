import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { parseEngineAddress } from '../address.js'
import { inspectImage, pushImage, tagImage, type DockerEndpoint } from './index.js'

const address = parseEngineAddress(process.env.KILN_ENGINE ?? 'docker:///run/kiln/current/docker.sock')
const registry = '127.0.0.1:5000'

function manifestDigest(repository: string, tag: string): string {
  const head = execFileSync('curl', ['-fsSI', '-H', 'Accept: application/vnd.docker.distribution.manifest.v2+json', `http://${registry}/v2/${repository}/manifests/${tag}`], { encoding: 'utf8' })
  return /docker-content-digest:\s*(\S+)/i.exec(head)?.[1] ?? ''
}

describe('Docker API image push (dockerd has no image exporter)', () => {
  if (address.kind !== 'docker') throw new Error(`these tests need a docker:// engine (dockerd's API), received ${address.url}`)
  const endpoint: DockerEndpoint = address
  beforeAll(() => {
    execFileSync('bash', ['scripts/registry.sh', 'start'], { cwd: new URL('../../../..', import.meta.url).pathname, stdio: 'ignore' })
  })

  it('tags, pushes to the loopback registry and returns the manifest digest the registry serves', async () => {
    const tag = randomBytes(4).toString('hex')
    const name = `${registry}/kiln-docker-api:${tag}`
    await tagImage(endpoint, 'busybox:latest', name)
    const progress: string[] = []
    const result = await pushImage(endpoint, name, { onProgress: (message) => progress.push(message.status ?? '') })
    expect(result.name).toBe(name)
    expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(manifestDigest('kiln-docker-api', tag)).toBe(result.digest)
    expect((await inspectImage(endpoint, name)).repoDigests).toContain(`${registry}/kiln-docker-api@${result.digest}`)
    expect(progress.length).toBeGreaterThan(0)
  })

  it('fails on the error message of the push stream', async () => {
    await expect(pushImage(endpoint, `${registry}/kiln-docker-api-missing:none`)).rejects.toMatchObject({ code: 'BUILDKIT_EXPORT_FAILED', message: expect.stringMatching(/does not exist/) })
  })

  it('names a missing image on inspect', async () => {
    await expect(inspectImage(endpoint, 'kiln-no-such-image:none')).rejects.toMatchObject({ message: expect.stringMatching(/HTTP 404.*No such image/) })
  })
})
