import { formatMessage } from '@kiln/core'
import type { ReportDescriptor } from '@kiln/core'
import { fakeImage, NodeTypeTester, stateLabel } from '@kiln/core/testing'
import { describe, expect, it } from 'vitest'
import { fakeInspect } from './__fixtures__/inspect.js'
import { imageCheck, inspectImage } from './index.js'

const tester = new NodeTypeTester(imageCheck)
const messages = imageCheck.meta?.messages ?? {}
const text = (reports: readonly ReportDescriptor[]) => reports.map((report) => `${report.severity} ${formatMessage(messages[report.messageId] ?? '', report.data)}`)
const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\ntoor:x:0:0::/root:/bin/sh\n'

async function check(user: string | undefined, tree: Record<string, string> = { 'etc/passwd': PASSWD }, rules = { nonRoot: true, requiredLabels: [] as string[] }) {
  const context = fakeInspect(tree, user === undefined ? {} : { user })
  await inspectImage(context, { image: 'app', rules, severity: 'deny' })
  return context
}

describe('policy.image config', () => {
  it('accepts rules and defaults severity to deny', () => {
    expect(tester.errors({ image: 'img', rules: { nonRoot: true } })).toEqual([])
    expect(tester.parse({ image: 'img', rules: { requiredLabels: ['a'] } })).toMatchObject({ severity: 'deny', rules: { nonRoot: false, requiredLabels: ['a'] } })
    expect(tester.references({ image: 'img', rules: { nonRoot: true } })).toEqual([{ path: ['image'], node: 'img', output: 'default', accepts: ['image'] }])
    expect(tester.outputs({ image: 'img', rules: { nonRoot: true } })).toEqual({})
  })

  it('rejects a check with no rule, unknown rules, wrong types and severities', () => {
    const messagesOf = (config: unknown) => tester.errors(config, 'checks').map((error) => error.message)
    expect(messagesOf({ image: 'img', rules: {} })).toEqual(['Node "checks" has invalid config at rules: expected at least one rule (nonRoot: true or requiredLabels: [...]), received object'])
    expect(messagesOf({ image: 'img', rules: { nonRoot: false, requiredLabels: [] } })).toEqual(['Node "checks" has invalid config at rules: expected at least one rule (nonRoot: true or requiredLabels: [...]), received object'])
    expect(messagesOf({ image: 'img', rules: { nonroot: true } })).toEqual([
      'Node "checks" has invalid config at rules.nonroot: expected a known field, received unknown field "nonroot"',
      'Node "checks" has invalid config at rules: expected at least one rule (nonRoot: true or requiredLabels: [...]), received object',
    ])
    expect(messagesOf({ image: 'img', rules: { nonRoot: 'yes' } })).toEqual(['Node "checks" has invalid config at rules.nonRoot: expected boolean, received "yes"'])
    expect(messagesOf({ image: 'img', rules: { nonRoot: true }, severity: 'error' })).toEqual(['Node "checks" has invalid config at severity: expected one of "warn", "deny", received "error"'])
    expect(messagesOf({ rules: { nonRoot: true } })[0]).toBe('Node "checks" has invalid config at image: expected a reference to image output ("nodeId" or "nodeId.output"), received nothing (the field is missing)')
  })
})

describe('policy.image compile', () => {
  it('declares one check target on the image, carrying its config for inspect, and no outputs', async () => {
    const input = fakeImage('img', { user: 'app', labels: { a: '1' } })
    const result = await tester.compile({ image: 'img', rules: { nonRoot: true, requiredLabels: ['a'] } }, { nodeId: 'checks', inputs: { img: input } })
    expect(result.phase).toBe('check')
    expect(result.outputs).toEqual({})
    expect(result.reports).toEqual([])
    expect(result.targets).toHaveLength(1)
    const target = result.targets[0]
    expect(target).toMatchObject({ kind: 'check', image: { config: { user: 'app', labels: { a: '1' } } }, description: 'check image img: non-root user; labels a' })
    expect(stateLabel(target?.state ?? input.state)).toBe('img')
    expect(target?.state).toBe(input.state)
  })

  it("runs the target's inspect against the solved image: a root image fails with a deny report", async () => {
    const result = await tester.compile({ image: 'img', rules: { nonRoot: true, requiredLabels: ['org.opencontainers.image.source'] } }, { inputs: { img: fakeImage('img', { user: 'root' }) } })
    const context = fakeInspect({}, result.targets[0]?.image?.config)
    await result.targets[0]?.inspect?.(context)
    expect(text(context.reports)).toEqual(['deny Image img runs as root (user "root"): expected a non-root USER', 'deny Image img has no label org.opencontainers.image.source: expected the labels org.opencontainers.image.source'])
    expect(context.reports[0]).toEqual({ messageId: 'root', data: { rule: 'nonRoot', image: 'img', user: 'root' }, severity: 'deny' })
  })

  it('falls back to the compiled image config when the runtime passes none, and honours severity warn', async () => {
    const result = await tester.compile({ image: 'img', severity: 'warn', rules: { nonRoot: true } }, { inputs: { img: fakeImage('img', { user: '0:0' }) } })
    const context = fakeInspect({})
    await result.targets[0]?.inspect?.(context)
    expect(text(context.reports)).toEqual(['warn Image img runs as root (user "0:0"): expected a non-root USER'])
  })
})

describe('inspectImage nonRoot', () => {
  it.each([[undefined], [''], ['root'], ['0'], ['0:0'], ['root:staff'], ['toor']])('reports root for user %j', async (user) => {
    const context = await check(user)
    expect(context.reports.map((report) => report.messageId)).toEqual(['root'])
  })

  it.each([['1000'], ['1000:1000'], ['app'], ['app:app']])('passes user %j', async (user) => {
    const context = await check(user)
    expect(context.reports).toEqual([])
  })

  it('reads /etc/passwd only for a user name', async () => {
    expect((await check('1000')).reads).toEqual([])
    expect((await check('app')).reads).toEqual(['file /etc/passwd'])
  })

  it('reports a user the image does not define, or an image without /etc/passwd', async () => {
    expect(text((await check('ghost')).reports)).toEqual(['deny Image app runs as user "ghost", which its /etc/passwd does not define: expected a user of the image (no entry for "ghost")'])
    expect(text((await check('app', {})).reports)).toEqual([
      'deny Image app runs as user "app", which its /etc/passwd does not define: expected a user of the image (/etc/passwd could not be read: open /etc/passwd: no such file or directory)',
    ])
  })
})

describe('inspectImage requiredLabels', () => {
  it('reports each missing or empty label, and passes present ones', async () => {
    const context = fakeInspect({}, { user: 'app', labels: { 'org.opencontainers.image.source': 'https://example.test/app', 'org.opencontainers.image.version': '' } })
    await inspectImage(context, { image: 'app', severity: 'deny', rules: { nonRoot: false, requiredLabels: ['org.opencontainers.image.source', 'org.opencontainers.image.version', 'maintainer'] } })
    expect(context.reports.map((report) => report.data?.label)).toEqual(['org.opencontainers.image.version', 'maintainer'])
    const ok = fakeInspect({}, { labels: { a: '1', b: '2' } })
    await inspectImage(ok, { image: 'app', severity: 'deny', rules: { nonRoot: false, requiredLabels: ['a', 'b'] } })
    expect(ok.reports).toEqual([])
  })
})
