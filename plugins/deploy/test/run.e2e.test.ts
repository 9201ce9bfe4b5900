import { rm } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createProject, flavor, kiln, REGISTRY, result, startRegistry, unique } from './helpers.js'

const projects: string[] = []

async function project(nodes: string, secrets = ''): Promise<string> {
  const dir = await createProject(`plugins: ["@kiln/plugin-deploy"]\n${secrets}nodes:\n${nodes}`)
  projects.push(dir)
  return dir
}

beforeAll(async () => {
  await startRegistry()
})

afterAll(async () => {
  for (const dir of projects) await rm(dir, { recursive: true, force: true })
})

describe(`deploy.run on ${flavor}`, () => {
  it('captures stdout as the value and never lets the secret out, even when the command prints it', async () => {
    const token = `tok-${unique()}-${unique()}`
    const dir = await project(
      `  announce:
    type: deploy.run
    from: busybox:latest
    secrets: { token: null }
    script: |
      echo "deploying with token $(cat /run/secrets/token)"
      echo "stderr sees $(cat /run/secrets/token) too" >&2
      echo release-42
`,
      'secrets:\n  token: { env: KILN_E2E_TOKEN }\n',
    )
    const outcome = await kiln(dir, [], { KILN_E2E_TOKEN: `${token}\n` })
    expect(outcome.code, outcome.stderr).toBe(0)
    const announce = result(outcome, 'announce')
    expect(announce.status).toBe('ok')
    expect(announce.values.default).toBe('deploying with token ***\nrelease-42')
    // Nowhere: not in the value, the events (logs), the summary, nor the CLI's stderr.
    expect(outcome.stdout).not.toContain(token)
    expect(outcome.stderr).not.toContain(token)
    const logs = outcome.events.flatMap((event) => (event.type === 'node.log' && event.nodeId === 'announce' ? [event.text] : [])).join('')
    expect(logs).toContain('stderr sees *** too')
    expect(logs).toContain('release-42')
  })

  it('has no network unless asked; with network: host it reaches the loopback registry; json parses the output', async () => {
    const dir = await project(`  offline:
    type: deploy.run
    from: busybox:latest
    script: if wget -q -T 3 -O- http://${REGISTRY}/v2/ >/dev/null 2>&1; then echo reachable; else echo unreachable; fi
  online:
    type: deploy.run
    from: busybox:latest
    network: host
    json: true
    command: ["wget", "-q", "-O-", "http://${REGISTRY}/v2/"]
`)
    const outcome = await kiln(dir)
    expect(outcome.code, outcome.stderr).toBe(0)
    expect(result(outcome, 'offline').values.default).toBe('unreachable')
    expect(result(outcome, 'online').values.default).toEqual({})
  })

  it('runs the command on every run unless cache: true, once per run (the value is read from the same result)', async () => {
    const dir = await project(`  fresh:
    type: deploy.run
    from: busybox:latest
    command: ["cat", "/proc/sys/kernel/random/uuid"]
  cached:
    type: deploy.run
    from: busybox:latest
    cache: true
    script: echo ${unique()}-$(cat /proc/sys/kernel/random/uuid)
`)
    const first = await kiln(dir)
    const second = await kiln(dir)
    expect(first.code, first.stderr).toBe(0)
    expect(second.code, second.stderr).toBe(0)
    const uuid = /^[0-9a-f-]{36}$/
    expect(result(first, 'fresh').values.default).toMatch(uuid)
    expect(result(second, 'fresh').values.default).toMatch(uuid)
    expect(result(second, 'fresh').values.default).not.toBe(result(first, 'fresh').values.default)
    expect(result(second, 'cached').values.default).toBe(result(first, 'cached').values.default)
    // The command's own vertex: served from cache for `cached`, run again for `fresh` (engines differ on whether
    // they report the untouched image source of a cached step, so the step itself is what is checked).
    const execCached = (outcome: typeof second, nodeId: string) => {
      const exec = outcome.events.find((event) => event.type === 'node.progress' && event.nodeId === nodeId && event.name.startsWith(`[${nodeId}] `))
      if (exec === undefined || exec.type !== 'node.progress') throw new Error(`no progress for the command of ${nodeId}`)
      return outcome.events.some((event) => event.type === 'node.cached' && event.nodeId === nodeId && event.vertex === exec.vertex)
    }
    expect(execCached(second, 'cached')).toBe(true)
    expect(execCached(second, 'fresh')).toBe(false)
    // Within a run the command ran once: the value equals what it printed to the log.
    const logged = first.events.flatMap((event) => (event.type === 'node.log' && event.nodeId === 'fresh' ? [event.text] : [])).join('')
    expect(logged.trim()).toBe(result(first, 'fresh').values.default)
  })

  it('fails the node with the command\'s exit status, and waits for checks like every deploy', async () => {
    const dir = await project(`  gate:
    type: run
    from: busybox:latest
    phase: check
    script: exit 1
  never:
    type: deploy.run
    from: busybox:latest
    script: echo should not run
  broken:
    type: deploy.run
    from: busybox:latest
    script: echo partial; exit 7
`)
    const outcome = await kiln(dir, ['--keep-going'])
    expect(outcome.code).not.toBe(0)
    expect(result(outcome, 'gate').status).toBe('failed')
    expect(result(outcome, 'never').status).toBe('skipped')
    expect(result(outcome, 'broken').status).toBe('skipped')
    const alone = await kiln(dir, ['broken'])
    expect(result(alone, 'broken').status).toBe('failed')
    expect(result(alone, 'broken').error?.message).toMatch(/exit code: 7|exited with status 7/)
  })
})
