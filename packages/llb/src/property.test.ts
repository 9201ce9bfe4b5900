import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DOCKERD_20_10, diff, encode, image, local, merge, mkdir, scratch, type FileAction, type State } from './index.js'
import { marshalInternals } from './marshal.js'

/** A random DAG: node i may only refer to nodes before it; the last node is the result. */
type NodeSpec =
  | { kind: 'image'; ref: string }
  | { kind: 'local'; name: string }
  | { kind: 'run'; base: number; mounts: number[]; cmd: string }
  | { kind: 'file'; base: number | null; from: number; file: string }
  | { kind: 'merge'; inputs: number[] }
  | { kind: 'diff'; lower: number; upper: number }

const graph = fc.integer({ min: 1, max: 8 }).chain((size) =>
  fc.tuple(...Array.from({ length: size }, (_unused, i) => {
    const leaf = fc.oneof(
      fc.record({ kind: fc.constant('image' as const), ref: fc.constantFrom('busybox', 'alpine:3', 'debian:bookworm') }),
      fc.record({ kind: fc.constant('local' as const), name: fc.constantFrom('src', 'docs') }),
    )
    if (i === 0) return leaf
    const earlier = fc.integer({ min: 0, max: i - 1 })
    return fc.oneof(
      leaf,
      fc.record({ kind: fc.constant('run' as const), base: earlier, mounts: fc.uniqueArray(earlier, { maxLength: 2 }), cmd: fc.constantFrom('make', 'test', 'ls') }),
      fc.record({ kind: fc.constant('file' as const), base: fc.option(earlier, { nil: null }), from: earlier, file: fc.constantFrom('a', 'b') }),
      fc.record({ kind: fc.constant('merge' as const), inputs: fc.uniqueArray(earlier, { minLength: 1, maxLength: Math.min(3, i) }) }),
      fc.record({ kind: fc.constant('diff' as const), lower: earlier, upper: earlier }),
    )
  })),
) as fc.Arbitrary<NodeSpec[]>

/** Builds node `index`; `get` supplies dependencies (shared or freshly rebuilt). */
function buildNode(spec: NodeSpec, get: (index: number) => State): State {
  switch (spec.kind) {
    case 'image': return image(spec.ref)
    case 'local': return local(spec.name, { uniqueId: 'prop' })
    case 'run': {
      // Mount order as given must not matter either: Go sorts mounts by dest.
      const mounts = spec.mounts.map((index) => ({ type: 'bind' as const, dest: `/m${index}`, from: get(index), readonly: true }))
      return get(spec.base).run({ args: [spec.cmd], network: 'none', mounts: mounts.reverse() }).root()
    }
    case 'file': {
      const action: FileAction = mkdir('/out', { parents: true }).mkfile(`/out/${spec.file}`, spec.file).copy(get(spec.from), '/', '/out/from')
      return (spec.base === null ? scratch() : get(spec.base)).file(action)
    }
    case 'merge': return merge(spec.inputs.map(get))
    case 'diff': return diff(get(spec.lower), get(spec.upper))
  }
}

/** Builds node `index` of `specs` once, with its inputs: the same index gives the same State object. */
function sharedBuilder(specs: NodeSpec[]): (index: number) => State {
  const built = new Map<number, State>()
  const get = (index: number): State => {
    let state = built.get(index)
    if (!state) {
      state = buildNode(specs[index] as NodeSpec, get)
      built.set(index, state)
    }
    return state
  }
  return get
}

function buildShared(specs: NodeSpec[], order: number[]): State {
  const get = sharedBuilder(specs)
  for (const index of order) get(index)
  return get(specs.length - 1)
}

function buildFresh(specs: NodeSpec[], index: number): State {
  return buildNode(specs[index] as NodeSpec, (input) => buildFresh(specs, input))
}

const hex = (state: State) => Buffer.from(state.marshal({ platform: 'linux/amd64' }).bytes).toString('hex')

describe('determinism (property)', () => {
  it('construction order and object identity do not change the bytes or digests', () => {
    fc.assert(
      fc.property(graph.chain((specs) => fc.tuple(fc.constant(specs), fc.shuffledSubarray(specs.map((_s, i) => i), { minLength: specs.length }))), ([specs, order]) => {
        const shared = buildShared(specs, specs.map((_s, i) => i))
        const reordered = buildShared(specs, order)
        const fresh = buildFresh(specs, specs.length - 1)
        const expected = hex(shared)
        expect(hex(reordered)).toBe(expected)
        expect(hex(fresh)).toBe(expected)
        expect(fresh.marshal({ platform: 'linux/amd64' }).digest).toBe(shared.marshal({ platform: 'linux/amd64' }).digest)
      }),
      { numRuns: 100 },
    )
  })

  it('marshalling twice gives the same bytes, and every op digest is emitted once', () => {
    fc.assert(
      fc.property(graph, (specs) => {
        const state = buildShared(specs, [])
        const first = state.marshal({ platform: 'linux/amd64' })
        expect(Buffer.from(state.marshal({ platform: 'linux/amd64' }).bytes).equals(Buffer.from(first.bytes))).toBe(true)
        const digests = [...first.ops.keys()]
        expect(new Set(digests).size).toBe(digests.length)
        // Every input names an op emitted before it: post-order.
        const seen = new Set<string>()
        for (const op of first.ops.values()) {
          for (const input of op.op.inputs ?? []) expect(seen.has(input.digest as string)).toBe(true)
          seen.add(op.digest)
        }
      }),
      { numRuns: 150 },
    )
  })

  it('Go order from the vertices post-order equals the walk over the op bytes (identical ops included)', () => {
    fc.assert(
      fc.property(graph, fc.boolean(), (specs, withCaps) => {
        const options = { platform: 'linux/amd64', ...(withCaps ? DOCKERD_20_10 : {}) }
        const state = buildShared(specs, [])
        // Fresh vertices for each walk: the memo would otherwise hand back the ops of the first marshal.
        let fromVertices: string
        let fromBytes: string
        try {
          fromVertices = Buffer.from(buildShared(specs, []).marshal(options).bytes).toString('hex')
        } catch (error) {
          // A graph the engine cannot build (a diff or a merge without mergeop) fails either way.
          marshalInternals.byteWalk = true
          try {
            expect(() => state.marshal(options)).toThrow((error as Error).message)
          } finally {
            marshalInternals.byteWalk = false
          }
          return
        }
        marshalInternals.byteWalk = true
        try {
          fromBytes = Buffer.from(state.marshal(options).bytes).toString('hex')
        } finally {
          marshalInternals.byteWalk = false
        }
        expect(fromVertices).toBe(fromBytes)
      }),
      { numRuns: 200 },
    )
  })

  it('the Definition bytes equal the reference encoding of its def and metadata (ops copied in runs from their slabs)', () => {
    fc.assert(
      fc.property(graph, fc.shuffledSubarray([0, 1, 2, 3, 4, 5, 6, 7]), (specs, warm) => {
        const get = sharedBuilder(specs)
        // Marshal parts of the graph first, so the last marshal mixes reused ops (written earlier, elsewhere) with new ones.
        for (const index of warm) if (index < specs.length) get(index).marshal({ platform: 'linux/amd64' })
        const definition = get(specs.length - 1).marshal({ platform: 'linux/amd64' })
        expect(Buffer.from(definition.bytes).toString('hex')).toBe(Buffer.from(encode('Definition', definition.toPB())).toString('hex'))
      }),
      { numRuns: 150 },
    )
  })

  it('env insertion order is kept and a replaced key keeps its position', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('A', 'B', 'C', 'D'), fc.string({ maxLength: 3 }))), (entries) => {
        let state = scratch()
        const expected = new Map<string, string>()
        for (const [key, value] of entries) {
          state = state.withEnv(key, value)
          expected.set(key, value)
        }
        expect(state.env()).toEqual([...expected].map(([key, value]) => `${key}=${value}`))
      }),
    )
  })
})
