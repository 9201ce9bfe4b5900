import { image, local } from '@kiln/llb'
import { describe, expect, it } from 'vitest'
import { localDirs, servedFromCache, toKilnEvents } from './buildkit-engine.js'

describe('engine adapter helpers', () => {
  const state = image('busybox:latest').run({ args: ['true'], mounts: [] }).root()

  it('maps BuildKit status to Kiln events: cached vertices first, logs by stream', () => {
    const vertices = new Map<string, { cached: boolean; completed: boolean }>()
    const started = new Date(1000)
    const events = toKilnEvents('build', { type: 'vertex', digest: 'sha256:a', name: '[build] make', inputs: [], cached: true, started, completed: new Date(1500) }, vertices)
    expect(events.map((event) => event.type)).toEqual(['node.cached', 'node.progress'])
    expect(events[1]).toMatchObject({ nodeId: 'build', vertex: 'sha256:a', name: '[build] make', started: 1000, completed: 1500 })
    const log = toKilnEvents('build', { type: 'log', vertex: 'sha256:a', stream: 2, data: new TextEncoder().encode('oops\n') }, vertices)
    expect(log).toMatchObject([{ type: 'node.log', stream: 'stderr', text: 'oops\n' }])
  })

  it('a solve is served from cache when every working vertex was cached (image sources do not count)', () => {
    const definition = state.marshal()
    const [source, exec] = [...definition.ops.values()].filter((op) => op.op.source || op.op.exec)
    expect(source?.op.source).toBeDefined()
    const vertices = new Map([
      [source!.digest, { cached: false, completed: true }],
      [exec!.digest, { cached: true, completed: true }],
    ])
    expect(servedFromCache(definition, vertices)).toBe(true)
    vertices.set(exec!.digest, { cached: false, completed: true })
    expect(servedFromCache(definition, vertices)).toBe(false)
  })

  it('reads the host directory of each local source from its op description', () => {
    const src = local('src', { description: { 'kiln.local.path': 'app/src', 'kiln.local.dockerignore': 'false' } })
    const other = local('other')
    const definition = image('busybox:latest').run({ args: ['true'], mounts: [{ type: 'bind', dest: '/a', from: src }, { type: 'bind', dest: '/b', from: other }] }).root().marshal()
    expect(localDirs(definition).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'other', path: 'other', dockerignore: true },
      { name: 'src', path: 'app/src', dockerignore: false },
    ])
  })
})
