import { rm } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createProject, docker, flavor, kiln, REGISTRY, registryDigest, result, startRegistry, unique } from './helpers.js'

const projects: string[] = []
const repository = `kiln-e2e/deploy-push-${flavor}`

function pipeline(options: { stamp: string; tag: string; check: string; auth?: boolean }): string {
  return `
plugins: ["@kiln/plugin-deploy"]
${options.auth ? 'secrets:\n  registry: { env: KILN_E2E_REGISTRY_AUTH }\n' : ''}nodes:
  app:
    type: run
    from: busybox:latest
    script: echo ${options.stamp} > /stamp
  test:
    type: run
    from: app
    phase: check
    script: ${JSON.stringify(options.check)}
  ship:
    type: deploy.push
    image: app
    to: ${REGISTRY}/${repository}:${options.tag}
${options.auth ? '    auth: registry\n' : ''}`
}

beforeAll(async () => {
  await startRegistry()
})

afterAll(async () => {
  for (const dir of projects) await rm(dir, { recursive: true, force: true })
})

describe(`deploy.push on ${flavor}`, () => {
  it('pushes after the check passed; the value is the manifest digest the registry serves, and the image pulls back', async () => {
    const stamp = unique()
    const tag = unique()
    const secret = `kiln:${unique()}-password`
    const dir = await createProject(pipeline({ stamp, tag, check: `test "$(cat /stamp)" = ${stamp}`, auth: true }))
    projects.push(dir)
    const outcome = await kiln(dir, [], { KILN_E2E_REGISTRY_AUTH: secret })
    expect(outcome.code, outcome.stderr).toBe(0)
    expect(result(outcome, 'test').status).toBe('ok')
    const ship = result(outcome, 'ship')
    expect(ship.status).toBe('ok')
    const digest = ship.values.default
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    // The registry serves exactly that manifest under the tag...
    expect(await registryDigest(repository, tag)).toBe(digest)
    // ...and the engine pulls it back by digest, with the content the pipeline built.
    const pulled = await docker('pull', `${REGISTRY}/${repository}@${String(digest)}`)
    expect(pulled).toContain(`Digest: ${String(digest)}`)
    expect((await docker('run', '--rm', '--network', 'none', `${REGISTRY}/${repository}@${String(digest)}`, 'cat', '/stamp')).trim()).toBe(stamp)
    // The credentials secret travelled only as the push's X-Registry-Auth: it is in no output.
    expect(outcome.stdout + outcome.stderr).not.toContain(secret.split(':')[1])
    // The publish ran after the check: its start follows the check's end.
    const order = outcome.events.filter((event) => (event.type === 'node.started' || event.type === 'node.done') && (event.nodeId === 'test' || event.nodeId === 'ship')).map((event) => `${event.type}:${'nodeId' in event ? event.nodeId : ''}`)
    expect(order.indexOf('node.done:test')).toBeLessThan(order.indexOf('node.started:ship'))
  })

  it('pushes again on the next run (a deploy is never served from cache) and gets the same digest for the same image', async () => {
    const stamp = unique()
    const tag = unique()
    const dir = await createProject(pipeline({ stamp, tag, check: 'true' }))
    projects.push(dir)
    const first = await kiln(dir)
    expect(first.code, first.stderr).toBe(0)
    const digest = result(first, 'ship').values.default
    // Delete the tag's manifest from the registry: only a real second push brings it back.
    const response = await fetch(`http://${REGISTRY}/v2/${repository}/manifests/${String(digest)}`, { method: 'DELETE' })
    expect(response.status).toBe(202)
    expect(await registryDigest(repository, tag)).toBeUndefined()
    const second = await kiln(dir)
    expect(second.code, second.stderr).toBe(0)
    expect(result(second, 'ship').status).toBe('ok')
    expect(result(second, 'ship').values.default).toBe(digest)
    expect(await registryDigest(repository, tag)).toBe(digest)
  })

  it('a failing check stops the push: the publish node is skipped and nothing reaches the registry', async () => {
    const tag = unique()
    const dir = await createProject(pipeline({ stamp: unique(), tag, check: 'echo "the check fails" >&2; exit 1' }))
    projects.push(dir)
    const outcome = await kiln(dir)
    expect(outcome.code).not.toBe(0)
    expect(outcome.summary.ok).toBe(false)
    expect(result(outcome, 'test').status).toBe('failed')
    expect(result(outcome, 'ship').status).toBe('skipped')
    expect(result(outcome, 'ship').values).toEqual({})
    expect(outcome.events.some((event) => event.type === 'node.started' && event.nodeId === 'ship')).toBe(false)
    expect(await registryDigest(repository, tag)).toBeUndefined()
  })
})
