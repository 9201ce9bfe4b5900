import { assertAllowed, isCoreError } from '@kiln/core'
import type { Finding } from '@kiln/core'
import { image as llbImage } from '@kiln/llb'
import { describe, expect, it } from 'vitest'
import { DIGEST, evaluate, only } from './__fixtures__/pipeline.js'
import { matchesRegistry, planOps } from './index.js'

const summary = (findings: readonly Finding[]) => findings.map((finding) => `${finding.severity} ${finding.rule} ${finding.nodeId ?? '-'}: ${String(finding.data?.op)}`)
const digestOf = (ref: string) => llbImage(ref).marshal().digest

describe('images.pinned', () => {
  it('reports each unpinned image source once, on the node that introduced it, with rule, node, op and digest', async () => {
    const { report } = await evaluate(
      {
        base: { type: 'image', ref: 'debian:bookworm' },
        pinned: { type: 'image', ref: `127.0.0.1:5000/app@${DIGEST}` },
        build: { type: 'run', from: 'base', script: 'make' },
        inline: { type: 'run', from: 'busybox:1.36', script: 'ls' },
      },
      only({ 'images.pinned': 'deny' }),
    )
    expect(report.findings).toEqual([
      {
        rule: 'images.pinned',
        severity: 'deny',
        message: 'Node base uses image docker.io/library/debian:bookworm (op docker-image://docker.io/library/debian:bookworm), which is not pinned by digest: expected docker.io/library/debian:bookworm@sha256:<digest>',
        messageId: 'unpinned',
        nodeId: 'base',
        targetId: 'base#build',
        data: {
          rule: 'images.pinned',
          node: 'base',
          nodeType: 'image',
          op: 'docker-image://docker.io/library/debian:bookworm',
          digest: digestOf('debian:bookworm'),
          image: 'docker.io/library/debian:bookworm',
        },
      },
      expect.objectContaining({ rule: 'images.pinned', nodeId: 'inline', data: expect.objectContaining({ nodeType: 'run', op: 'docker-image://docker.io/library/busybox:1.36' }) }),
    ])
    expect(report.denied).toBe(true)
    expect(() => assertAllowed(report)).toThrow('Policy denied the run (2 findings)')
  })

  it('passes images pinned by digest, with or without a tag', async () => {
    const { report } = await evaluate(
      { a: { type: 'image', ref: `debian:bookworm@${DIGEST}` }, b: { type: 'run', from: `127.0.0.1:5000/app@${DIGEST}`, script: 'true' } },
      only({ 'images.pinned': 'deny' }),
    )
    expect(report.findings).toEqual([])
    expect(report.denied).toBe(false)
  })

  it('warns by default, and exempts nodes by id and by type', async () => {
    const nodes = { base: { type: 'image', ref: 'debian:bookworm' }, step: { type: 'run', from: 'busybox:latest', script: 'ls' } }
    const byDefault = await evaluate(nodes, only({ 'images.pinned': {} }))
    expect(summary(byDefault.report.findings)).toEqual(['warn images.pinned base: docker-image://docker.io/library/debian:bookworm', 'warn images.pinned step: docker-image://docker.io/library/busybox:latest'])
    expect(byDefault.report.denied).toBe(false)
    const exempt = await evaluate(nodes, only({ 'images.pinned': { severity: 'deny', allowNodes: ['step'], allowTypes: ['image'] } }))
    expect(exempt.report.findings).toEqual([])
  })
})

describe('images.registries', () => {
  const nodes = {
    local: { type: 'image', ref: `127.0.0.1:5000/app@${DIGEST}` },
    near: { type: 'image', ref: '127.0.0.1:50000/app:1' },
    hub: { type: 'run', from: 'debian:bookworm', script: 'true' },
    lib: { type: 'image', ref: 'docker.io/library/busybox:latest' },
  }

  it('denies images from registries outside the allowed prefixes, matching at a reference boundary', async () => {
    const { report } = await evaluate(nodes, only({ 'images.registries': { allow: ['127.0.0.1:5000', 'docker.io/library/busybox'] } }))
    expect(summary(report.findings)).toEqual(['deny images.registries near: docker-image://127.0.0.1:50000/app:1', 'deny images.registries hub: docker-image://docker.io/library/debian:bookworm'])
    expect(report.findings[0]?.message).toBe(
      'Node near uses image 127.0.0.1:50000/app:1 (op docker-image://127.0.0.1:50000/app:1) from a registry that is not allowed: expected a reference starting with one of 127.0.0.1:5000, docker.io/library/busybox',
    )
    expect(report.findings[0]?.data).toMatchObject({ rule: 'images.registries', node: 'near', nodeType: 'image', image: '127.0.0.1:50000/app:1' })
  })

  it('passes when every image comes from an allowed registry, and honours a warn severity and exemptions', async () => {
    const pass = await evaluate(nodes, only({ 'images.registries': { allow: ['127.0.0.1:5000/', '127.0.0.1:50000/', 'docker.io/'] } }))
    expect(pass.report.findings).toEqual([])
    const warn = await evaluate(nodes, only({ 'images.registries': { severity: 'warn', allow: ['docker.io/'], allowNodes: ['local'] } }))
    expect(summary(warn.report.findings)).toEqual(['warn images.registries near: docker-image://127.0.0.1:50000/app:1'])
    expect(warn.report.denied).toBe(false)
  })

  it('is off unless configured with allow', async () => {
    const { report } = await evaluate(nodes, only({}))
    expect(report.findings).toEqual([])
  })

  it('matches prefixes at a boundary', () => {
    expect(matchesRegistry('127.0.0.1:5000/app:1', '127.0.0.1:5000')).toBe(true)
    expect(matchesRegistry('127.0.0.1:50000/app:1', '127.0.0.1:5000')).toBe(false)
    expect(matchesRegistry('docker.io/library/busybox:latest', 'docker.io/library/busybox')).toBe(true)
    expect(matchesRegistry('docker.io/library/busyboxer:latest', 'docker.io/library/busybox')).toBe(false)
    expect(matchesRegistry('docker.io/library/busyboxer:latest', 'docker.io/library/')).toBe(true)
    expect(matchesRegistry('ghcr.io/acme/app@' + DIGEST, 'ghcr.io/acme/app')).toBe(true)
  })
})

describe('network.host and security.insecure', () => {
  const nodes = {
    base: { type: 'image', ref: `debian@${DIGEST}` },
    fetch: { type: 'run', from: 'base', script: 'curl -O https://example.test/x', network: 'host' },
    build: { type: 'run', from: 'base', script: 'make', network: 'none' },
    sandboxed: { type: 'run', from: 'base', script: 'make check', network: 'sandbox' },
    dind: { type: 'run', from: 'base', script: 'dockerd', security: 'insecure' },
    deploy: { type: 'deploy.run', from: 'base', script: 'kubectl apply', network: 'host', after: ['build'] },
  }

  it('denies host networking and insecure mode by default, naming the exec op', async () => {
    const { report } = await evaluate(nodes, only({ 'network.host': {}, 'security.insecure': {} }))
    expect(summary(report.findings)).toEqual([
      'deny network.host fetch: /bin/sh -c curl -O https://example.test/x',
      'deny network.host deploy: /bin/sh -c kubectl apply',
      'deny security.insecure dind: /bin/sh -c dockerd',
    ])
    expect(report.findings[1]).toMatchObject({
      targetId: 'deploy#publish',
      message: 'Node deploy (deploy.run) runs "/bin/sh -c kubectl apply" with the host network: expected network none or sandbox, or the node listed in allowNodes/allowTypes',
      data: { rule: 'network.host', node: 'deploy', nodeType: 'deploy.run', op: '/bin/sh -c kubectl apply', digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) },
    })
    expect(report.findings[2]?.message).toBe('Node dind (run) runs "/bin/sh -c dockerd" in insecure (privileged) security mode: expected the sandbox, or the node listed in allowNodes/allowTypes')
  })

  it('allows the listed node types and ids', async () => {
    const { report } = await evaluate(nodes, only({ 'network.host': { allowTypes: ['deploy.run'], allowNodes: ['fetch'] }, 'security.insecure': { severity: 'warn', allowNodes: ['other'] } }))
    expect(summary(report.findings)).toEqual(['warn security.insecure dind: /bin/sh -c dockerd'])
    expect(report.denied).toBe(false)
  })

  it('passes a pipeline of sandboxed and network-less steps', async () => {
    const { report } = await evaluate({ base: nodes.base, build: nodes.build, sandboxed: nodes.sandboxed }, only({ 'network.host': {}, 'security.insecure': {} }))
    expect(report.findings).toEqual([])
  })
})

describe('secrets.mountsOnly', () => {
  it('denies a secret exposed as an environment variable, and passes a secret mount', async () => {
    const { report } = await evaluate(
      {
        base: { type: 'image', ref: `debian@${DIGEST}` },
        leaky: { type: 'run', from: 'base', script: 'npm publish', secretEnv: { NPM_TOKEN: 'npm', OTHER: 'registry' } },
        mounted: { type: 'run', from: 'base', script: 'npm publish', secretMounts: { '/run/secrets/npm': 'npm' } },
      },
      only({ 'secrets.mountsOnly': {} }),
      { secrets: ['npm', 'registry'] },
    )
    expect(report.findings.map((finding) => [finding.rule, finding.severity, finding.nodeId, finding.data?.secret, finding.data?.env])).toEqual([
      ['secrets.mountsOnly', 'deny', 'leaky', 'npm', 'NPM_TOKEN'],
      ['secrets.mountsOnly', 'deny', 'leaky', 'registry', 'OTHER'],
    ])
    expect(report.findings[0]?.message).toBe('Node leaky (run) exposes secret npm as environment variable NPM_TOKEN in "/bin/sh -c npm publish": expected a secret mount (a file under /run/secrets)')
  })
})

describe('deploy.requiresChecks', () => {
  const base = {
    image: { type: 'image', ref: `app@${DIGEST}` },
    scan: { type: 'check', image: 'image' },
  }

  it('denies a publish node that does not depend on the checks of the image it publishes', async () => {
    const { report } = await evaluate({ ...base, push: { type: 'deploy.push', image: 'image', to: 'r/app' } }, only({ 'deploy.requiresChecks': {} }))
    expect(report.findings).toEqual([
      {
        rule: 'deploy.requiresChecks',
        severity: 'deny',
        message: 'Publish node push (push#publish) publishes image without depending on its check scan: expected scan in its after list or upstream',
        messageId: 'missingCheck',
        nodeId: 'push',
        targetId: 'push#publish',
        data: { rule: 'deploy.requiresChecks', node: 'push', nodeType: 'deploy.push', op: 'push#publish', artifact: 'image', check: 'scan' },
      },
    ])
  })

  it('passes when the publish runs after the check, directly or transitively', async () => {
    const direct = await evaluate({ ...base, push: { type: 'deploy.push', image: 'image', to: 'r/app', after: ['scan'] } }, only({ 'deploy.requiresChecks': {} }))
    expect(direct.report.findings).toEqual([])
    const transitive = await evaluate(
      { ...base, gate: { type: 'run', from: `debian@${DIGEST}`, script: 'true', after: ['scan'] }, push: { type: 'deploy.push', image: 'image', to: 'r/app', after: ['gate'] } },
      only({ 'deploy.requiresChecks': {} }),
    )
    expect(transitive.report.findings).toEqual([])
  })

  it('still denies when only the publish is selected (kiln run push), where the check would not run at all', async () => {
    const { plan, report } = await evaluate({ ...base, push: { type: 'deploy.push', image: 'image', to: 'r/app' } }, only({ 'deploy.requiresChecks': {} }), { select: ['push'] })
    expect(plan.nodes.map((node) => node.id)).toEqual(['image', 'push'])
    expect(summary(report.findings)).toEqual(['deny deploy.requiresChecks push: push#publish'])
  })

  it('ignores checks that run after the publish (smoke tests of the deploy)', async () => {
    const { report } = await evaluate(
      { image: base.image, push: { type: 'deploy.push', image: 'image', to: 'r/app' }, smoke: { type: 'check', image: 'image', after: ['push'] } },
      only({ 'deploy.requiresChecks': {} }),
    )
    expect(report.findings).toEqual([])
  })

  it('allows an unchecked artifact by default, and reports it with requireCheck', async () => {
    const nodes = { image: base.image, push: { type: 'deploy.push', image: 'image', to: 'r/app' } }
    expect((await evaluate(nodes, only({ 'deploy.requiresChecks': {} }))).report.findings).toEqual([])
    const { report } = await evaluate(nodes, only({ 'deploy.requiresChecks': { severity: 'warn', requireCheck: true } }))
    expect(report.findings).toEqual([
      expect.objectContaining({
        rule: 'deploy.requiresChecks',
        severity: 'warn',
        messageId: 'unchecked',
        nodeId: 'push',
        message: 'Publish node push (push#publish) publishes image, which no check node checks: expected a check (e.g. policy.image) on image that push runs after',
      }),
    ])
    const exempt = await evaluate(nodes, only({ 'deploy.requiresChecks': { requireCheck: true, allowTypes: ['deploy.push'] } }))
    expect(exempt.report.findings).toEqual([])
  })
})

describe('severities and core overrides', () => {
  const nodes = { base: { type: 'image', ref: 'debian' }, step: { type: 'run', from: 'base', script: 'x', network: 'host' } }

  it('registers no policy for a rule that is off', async () => {
    const { report } = await evaluate(nodes, { rules: { 'images.pinned': 'off', 'network.host': 'off' } })
    expect(report.findings).toEqual([])
  })

  it('lets evaluatePolicies override a rule by its id (the CLI maps a policies: section onto this)', async () => {
    const { report } = await evaluate(nodes, {}, { severities: { 'images.pinned': 'deny', 'network.host': 'warn' } })
    expect(summary(report.findings)).toEqual(['deny images.pinned base: docker-image://docker.io/library/debian:latest', 'warn network.host step: /bin/sh -c x'])
  })

  it('blocks the run on a deny finding and lists it', async () => {
    const { report } = await evaluate(nodes, {})
    expect(report.denied).toBe(true)
    let error: unknown
    try {
      assertAllowed(report)
    } catch (thrown) {
      error = thrown
    }
    expect(isCoreError(error, 'POLICY_DENIED')).toBe(true)
    expect((error as Error).message).toBe(
      'Policy denied the run (1 finding): expected no deny findings\n  - [network.host] step: Node step (run) runs "/bin/sh -c x" with the host network: expected network none or sandbox, or the node listed in allowNodes/allowTypes',
    )
  })
})

describe('planOps', () => {
  it('attributes each op to the node that introduced it, and shares identical sources between unrelated nodes', async () => {
    const { plan } = await evaluate(
      {
        base: { type: 'image', ref: 'debian' },
        src: { type: 'local', path: '.' },
        a: { type: 'run', from: 'base', script: 'a', mounts: { '/src': 'src' } },
        b: { type: 'run', from: 'busybox:latest', script: 'b' },
        c: { type: 'run', from: 'busybox:latest', script: 'c' },
        scan: { type: 'check', image: 'base' },
      },
      only({}),
    )
    const ops = planOps(plan)
    const names = Object.fromEntries([...ops.byNode].map(([id, list]) => [id, list.map((op) => op.name)]))
    expect(names).toEqual({
      base: ['docker-image://docker.io/library/debian:latest'],
      src: ['local://.'],
      a: ['/bin/sh -c a'],
      b: ['docker-image://docker.io/library/busybox:latest', '/bin/sh -c b'],
      c: ['docker-image://docker.io/library/busybox:latest', '/bin/sh -c c'],
      scan: [],
    })
    expect(planOps(plan)).toBe(ops)
  })
})
