import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { buildGraph, createRegistry, createReference, defineNodeType, definePlugin, findReferences, isKindAssignable, isReference, parseReference, ref, secretRef } from './index.js'
import type { ArtifactKind } from './index.js'
import type { GraphValidationError } from './errors.js'
import { fakeState } from './testing/index.js'

describe('parseReference', () => {
  it('reads "node", "node.output" and { node, output }', () => {
    expect(parseReference('build')).toEqual({ node: 'build', output: 'default' })
    expect(parseReference('build.bin')).toEqual({ node: 'build', output: 'bin' })
    expect(parseReference({ node: 'build' })).toEqual({ node: 'build', output: 'default' })
    expect(parseReference({ node: 'build', output: 'bin' })).toEqual({ node: 'build', output: 'bin' })
  })

  it('rejects anything else', () => {
    for (const input of ['', 'a.b.c', 'debian:bookworm', '1abc', 'a.', 42, null, [], { node: 'a', extra: 1 }, { node: 'a.b' }, { output: 'x' }]) {
      expect(parseReference(input)).toBeUndefined()
    }
  })
})

describe('isKindAssignable', () => {
  it('accepts equal kinds and an image where a filesystem is expected, nothing else', () => {
    const kinds: ArtifactKind[] = ['filesystem', 'image', 'value', 'secret']
    const allowed = kinds.flatMap((provided) => kinds.filter((expected) => isKindAssignable(provided, expected)).map((expected) => `${provided}->${expected}`))
    expect(allowed).toEqual(['filesystem->filesystem', 'image->filesystem', 'image->image', 'value->value', 'secret->secret'])
  })
})

describe('ref() and secretRef()', () => {
  it('parse into marked references and secret artifacts', () => {
    const schema = z.object({ from: ref('image'), auth: secretRef() })
    const parsed = schema.parse({ from: 'base.img', auth: 'token' })
    expect(isReference(parsed.from)).toBe(true)
    expect(parsed.from).toEqual({ node: 'base', output: 'img', accepts: ['image'] })
    expect(parsed.auth).toEqual({ kind: 'secret', name: 'token' })
    expect(JSON.stringify(parsed)).toBe('{"from":{"node":"base","output":"img","accepts":["image"]},"auth":{"kind":"secret","name":"token"}}')
  })

  it('are told apart from look-alike data by their marker', () => {
    expect(isReference({ node: 'a', output: 'default', accepts: [] })).toBe(false)
    expect(isReference(createReference('a'))).toBe(true)
    expect(findReferences({ x: { node: 'a', output: 'default', accepts: [] }, y: { kind: 'secret', name: 'n' } })).toEqual({ references: [], secrets: [] })
  })
})

describe('findReferences', () => {
  it('finds references at any depth of a parsed config: records, arrays, unions, optionals, prefaults, tuples', () => {
    const schema = z.strictObject({
      steps: z.array(
        z.union([
          z.strictObject({ copy: z.strictObject({ from: ref(['filesystem', 'image']), paths: z.array(z.string()) }) }),
          z.strictObject({ shell: z.string(), mounts: z.record(z.string(), ref('filesystem')).optional() }),
        ]),
      ),
      extra: z.tuple([z.string(), ref('value')]).optional(),
      base: ref('image').prefault('img'),
      token: secretRef().optional(),
    })
    const parsed = schema.parse({
      steps: [{ copy: { from: 'a.out', paths: ['x'] } }, { shell: 'ls', mounts: { '/m': { node: 'b' } } }, { shell: 'pwd' }],
      extra: ['v', 'c.version'],
      token: 'npm',
    })
    const found = findReferences(parsed)
    expect(found.references.map(({ path, reference }) => ({ path, node: reference.node, output: reference.output, accepts: reference.accepts }))).toEqual([
      { path: ['steps', 0, 'copy', 'from'], node: 'a', output: 'out', accepts: ['filesystem', 'image'] },
      { path: ['steps', 1, 'mounts', '/m'], node: 'b', output: 'default', accepts: ['filesystem'] },
      { path: ['extra', 1], node: 'c', output: 'version', accepts: ['value'] },
      { path: ['base'], node: 'img', output: 'default', accepts: ['image'] },
    ])
    expect(found.secrets).toEqual([{ path: ['token'], name: 'npm' }])
  })

  it('turns nested references into edges and checks them in the graph', () => {
    const nested = defineNodeType({
      kind: 'nested',
      schema: z.strictObject({ layers: z.array(z.strictObject({ from: ref('image') })).default([]) }),
      outputs: { default: 'filesystem' },
      compile: () => ({ default: { kind: 'filesystem', state: fakeState('n') } }),
    })
    const source = defineNodeType({
      kind: 'source',
      schema: z.strictObject({ image: z.boolean().default(false) }),
      outputs: (config) => ({ default: config.image ? 'image' : 'filesystem' }),
      compile: () => ({ default: { kind: 'filesystem', state: fakeState('s') } }),
    })
    const registry = createRegistry([definePlugin({ meta: { name: 'p', version: '1' }, apiVersion: 'v1', nodeTypes: [nested, source] })])
    const graph = buildGraph({ nodes: { img: { type: 'source', image: true }, n: { type: 'nested', layers: [{ from: 'img' }, { from: { node: 'img' } }] } } }, registry)
    expect(graph.edges.map((edge) => edge.path)).toEqual([
      ['layers', 0, 'from'],
      ['layers', 1, 'from'],
    ])
    try {
      buildGraph({ nodes: { fs: { type: 'source' }, n: { type: 'nested', layers: [{ from: 'fs' }] } } }, registry)
      expect.unreachable()
    } catch (error) {
      expect((error as GraphValidationError).errors.map((item) => item.message)).toEqual(['Node "n" references "fs" at layers[0].from: expected an image, received a filesystem'])
    }
  })
})
