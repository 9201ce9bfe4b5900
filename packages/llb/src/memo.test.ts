import { describe, expect, it } from 'vitest'
import { DOCKERD_20_10, DOCKERD_26_1, image, local, merge, mkfile, scratch, type MarshalOptions, type State } from './index.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

/** A graph with a local source (local.unique), a merge (lowered without mergeop) and a shared sub-graph. */
function graph(): State {
  const src = local('src')
  const base = image('busybox').run({ args: ['true'], mounts: [{ type: 'bind', dest: '/src', from: src, readonly: true }] }).root()
  const a = scratch().file(mkfile('/a', 'a'))
  const b = scratch().file(mkfile('/b', 'b'))
  return merge([base, a, b])
}

describe('marshal memo (each vertex keeps its op per platform, caps and local id)', () => {
  const contexts: MarshalOptions[] = [
    { platform: 'linux/amd64' },
    { platform: 'linux/arm64' },
    { platform: 'linux/amd64', localUniqueId: 'one' },
    { platform: 'linux/amd64', localUniqueId: 'two' },
    { platform: 'linux/amd64', ...DOCKERD_20_10 },
    { platform: 'linux/amd64', ...DOCKERD_26_1 },
    { platform: 'linux/amd64', caps: new Set([...DOCKERD_20_10.caps.enabled].filter((cap) => cap !== 'exec.meta.setsdefaultpath')) },
  ]

  it('gives the bytes of a fresh graph whatever was marshalled before, in any context order', () => {
    const shared = graph()
    for (const order of [contexts, [...contexts].reverse(), [...contexts, ...contexts]]) {
      for (const options of order) expect(hex(shared.marshal(options).bytes)).toBe(hex(graph().marshal(options).bytes))
    }
  })

  it('reuses a shared sub-graph marshalled for another target', () => {
    const base = image('busybox').run({ args: ['make'] }).root()
    const one = base.file(mkfile('/one', '1'))
    const two = base.file(mkfile('/two', '2'))
    expect(hex(one.marshal().bytes)).toBe(hex(image('busybox').run({ args: ['make'] }).root().file(mkfile('/one', '1')).marshal().bytes))
    expect(hex(two.marshal().bytes)).toBe(hex(image('busybox').run({ args: ['make'] }).root().file(mkfile('/two', '2')).marshal().bytes))
  })

  it('marshals a 100k-op chain without overflowing the stack', () => {
    let state = scratch().file(mkfile('/0', '0'))
    for (let i = 1; i < 100_000; i++) state = state.file(mkfile(`/${i}`, ''))
    const definition = state.marshal({ maxBytes: Number.MAX_SAFE_INTEGER })
    expect(definition.ops.size).toBe(100_001)
  }, 60_000)
})
