import { describe, expect, it } from 'vitest'
import { buildGraph, createGraph, createRegistry, GraphValidationError, isCoreError } from './index.js'
import type { CoreError, PipelineConfig } from './index.js'
import { testPlugin } from './__fixtures__/plugin.js'

const registry = createRegistry([testPlugin])

function errorsOf(run: () => unknown): CoreError[] {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(GraphValidationError)
    expect(isCoreError(error, 'GRAPH_INVALID')).toBe(true)
    return [...(error as GraphValidationError).errors]
  }
  throw new Error('expected a GraphValidationError')
}

const build = (config: PipelineConfig) => buildGraph(config, registry)

describe('buildGraph validation', () => {
  it('reports an unknown node type with the known kinds and the closest one', () => {
    const [error, ...rest] = errorsOf(() => build({ nodes: { build: { type: 'rnu', script: 'make' } } }))
    expect(rest).toEqual([])
    expect(error?.code).toBe('NODE_UNKNOWN_TYPE')
    expect(error?.message).toBe('Node "build" has unknown type "rnu": expected one of local, run, image, check, deploy.push (did you mean "run"?)')
    expect(error).toMatchObject({ nodeId: 'build', path: ['type'], expected: 'one of local, run, image, check, deploy.push', received: '"rnu"' })
    expect(error?.details).toMatchObject({ suggestion: 'run', known: ['local', 'run', 'image', 'check', 'deploy.push'] })
  })

  it('reports a node without a type and does not suggest anything far away', () => {
    const errors = errorsOf(() => build({ nodes: { a: { path: '.' } as never, b: { type: 'kubernetes' } } }))
    expect(errors.map((error) => error.message)).toEqual([
      'Node "a" has no type: expected one of local, run, image, check, deploy.push',
      'Node "b" has unknown type "kubernetes": expected one of local, run, image, check, deploy.push',
    ])
  })

  it('reports one NODE_INVALID_CONFIG per schema issue, with path, expected and received', () => {
    const errors = errorsOf(() =>
      build({
        nodes: {
          src: { type: 'local', path: 42, exclude: ['ok', false] },
          build: { type: 'run', scirpt: 'make', mounts: { '/src': 7 } },
        },
      }),
    )
    expect(errors.map((error) => error.code)).toEqual(['NODE_INVALID_CONFIG', 'NODE_INVALID_CONFIG', 'NODE_INVALID_CONFIG', 'NODE_INVALID_CONFIG', 'NODE_INVALID_CONFIG'])
    expect(errors.map((error) => error.message)).toEqual([
      'Node "src" has invalid config at path: expected string, received number 42',
      'Node "src" has invalid config at exclude[1]: expected string, received boolean false',
      'Node "build" has invalid config at mounts["/src"]: expected a reference to filesystem or image output ("nodeId" or "nodeId.output"), received number 7',
      'Node "build" has invalid config at script: expected string, received nothing (the field is missing)',
      'Node "build" has invalid config at scirpt: expected a known field, received unknown field "scirpt"',
    ])
    expect(errors[1]).toMatchObject({ nodeId: 'src', path: ['exclude', 1], expected: 'string', received: 'boolean false' })
    expect(errors[2]).toMatchObject({ nodeId: 'build', path: ['mounts', '/src'] })
    expect(errors[4]).toMatchObject({ nodeId: 'build', path: ['scirpt'], expected: 'a known field' })
  })

  it('describes enum, size and union issues', () => {
    const errors = errorsOf(() =>
      build({
        nodes: {
          a: { type: 'run', script: 'x', from: 12 },
          b: { type: 'check', image: 'c', nonRoot: 'yes' },
          c: { type: 'image', ref: 'x' },
        },
      }),
    )
    expect(errors.map((error) => error.message)).toEqual([
      'Node "a" has invalid config at from: expected a reference to image output ("nodeId" or "nodeId.output") or string, received number 12',
      'Node "b" has invalid config at nonRoot: expected boolean, received "yes"',
    ])
  })

  it('reports a node entry that is not a mapping', () => {
    const [error] = errorsOf(() => build({ nodes: { a: 'local' as never } }))
    expect(error?.message).toBe('Node "a" has invalid config at (root): expected a mapping with a "type", received "local"')
  })

  it('rejects a config without nodes', () => {
    expect(() => build({} as PipelineConfig)).toThrow('Invalid config: expected "nodes" to be a mapping of node ids to nodes, received undefined')
  })

  it('reports dangling references, with the closest id', () => {
    const errors = errorsOf(() =>
      build({
        nodes: {
          src: { type: 'local', path: '.' },
          build: { type: 'run', script: 'make', mounts: { '/src': 'scr', '/x': { node: 'nowhere', output: 'bin' } } },
          test: { type: 'run', script: 'test', after: ['biuld'] },
        },
      }),
    )
    expect(errors.map((error) => error.code)).toEqual(['GRAPH_DANGLING_REFERENCE', 'GRAPH_DANGLING_REFERENCE', 'GRAPH_DANGLING_REFERENCE'])
    expect(errors.map((error) => error.message)).toEqual([
      'Node "build" references unknown node "scr" at mounts["/src"]: expected one of src, test (did you mean "src"?)',
      'Node "build" references unknown node "nowhere" at mounts["/x"]: expected one of src, test',
      'Node "test" references unknown node "biuld" at after[0]: expected one of src, build (did you mean "build"?)',
    ])
    expect(errors[0]).toMatchObject({ nodeId: 'build', path: ['mounts', '/src'], received: '"scr"' })
    expect(errors[2]).toMatchObject({ nodeId: 'test', path: ['after', 0] })
  })

  it('reports an unknown output name with the outputs the node has', () => {
    const [error] = errorsOf(() =>
      build({
        nodes: {
          build: { type: 'run', script: 'make', outputs: { bin: '/out' } },
          test: { type: 'run', script: 'test', mounts: { '/bin': 'build.binn' } },
        },
      }),
    )
    expect(error?.code).toBe('GRAPH_UNKNOWN_OUTPUT')
    expect(error?.message).toBe('Node "test" references unknown output "binn" of node "build" at mounts["/bin"]: expected one of default, bin')
    expect(error).toMatchObject({ nodeId: 'test', path: ['mounts', '/bin'], expected: 'one of default, bin', received: '"binn"' })
  })

  it('reports a reference to an output of the wrong artifact kind', () => {
    const errors = errorsOf(() =>
      build({
        nodes: {
          src: { type: 'local', path: '.' },
          scan: { type: 'check', image: 'src' },
          push: { type: 'deploy.push', image: 'scan', to: 'r/app' },
        },
      }),
    )
    expect(errors.map((error) => error.code)).toEqual(['GRAPH_KIND_MISMATCH', 'GRAPH_KIND_MISMATCH'])
    expect(errors.map((error) => error.message)).toEqual([
      'Node "scan" references "src" at image: expected an image, received a filesystem',
      'Node "push" references "scan" at image: expected an image, received a value',
    ])
    expect(errors[0]).toMatchObject({ nodeId: 'scan', path: ['image'], expected: 'an image', received: 'a filesystem' })
  })

  it('accepts an image where a filesystem is expected', () => {
    const graph = build({ nodes: { base: { type: 'image', ref: 'debian' }, build: { type: 'run', script: 'make', mounts: { '/': 'base' } } } })
    expect(graph.edges).toEqual([{ from: 'base', to: 'build', type: 'reference', output: 'default', path: ['mounts', '/'] }])
  })

  it('reports duplicate ids (declarations) and invalid ids', () => {
    const errors = errorsOf(() =>
      createGraph(
        [
          { id: 'a', type: 'local', config: { path: '.' } },
          { id: 'b', type: 'local', config: { path: '.' } },
          { id: 'a', type: 'local', config: { path: 'x' } },
          { id: 'bad.id', type: 'local', config: { path: '.' } },
        ],
        registry,
      ),
    )
    expect(errors.map((error) => [error.code, error.message])).toEqual([
      ['GRAPH_DUPLICATE_ID', 'Duplicate node id "a": expected each id once, received it at positions 1 and 3'],
      ['GRAPH_INVALID_ID', 'Invalid node id "bad.id": expected letters, digits, "_" or "-", starting with a letter or "_"'],
    ])
    expect(errors[0]).toMatchObject({ nodeId: 'a', expected: 'unique node ids', received: '"a" twice' })
  })

  it('reports a cycle with its path, and a self reference', () => {
    const errors = errorsOf(() =>
      build({
        nodes: {
          a: { type: 'run', script: 'a', mounts: { '/c': 'c' } },
          b: { type: 'run', script: 'b', mounts: { '/a': 'a' } },
          c: { type: 'run', script: 'c', mounts: { '/b': 'b' } },
          d: { type: 'run', script: 'd', after: ['d'] },
          ok: { type: 'local', path: '.' },
        },
      }),
    )
    expect(errors.map((error) => error.code)).toEqual(['GRAPH_CYCLE', 'GRAPH_CYCLE'])
    expect(errors.map((error) => error.message)).toEqual(['Cycle: a -> b -> c -> a', 'Cycle: d -> d'])
    expect(errors[0]?.details).toMatchObject({ nodes: ['a', 'b', 'c', 'a'] })
    expect(errors[0]?.nodeId).toBe('a')
  })

  it('reports a two-node cycle through after and a reference', () => {
    const [error] = errorsOf(() => build({ nodes: { x: { type: 'run', script: 'x', after: ['y'] }, y: { type: 'run', script: 'y', mounts: { '/x': 'x' } } } }))
    expect(error?.message).toBe('Cycle: x -> y -> x')
  })

  it('collects every error instead of stopping at the first, and does not cascade', () => {
    const errors = errorsOf(() =>
      build({
        nodes: {
          bad: { type: 'nope' },
          broken: { type: 'run', script: 1 },
          user: { type: 'run', script: 'x', mounts: { '/a': 'bad', '/b': 'broken.out', '/c': 'ghost' } },
        },
      }),
    )
    // References to nodes that are themselves invalid are not reported again; the missing node is.
    expect(errors.map((error) => error.code)).toEqual(['NODE_UNKNOWN_TYPE', 'NODE_INVALID_CONFIG', 'GRAPH_DANGLING_REFERENCE'])
    const aggregate = (() => {
      try {
        build({ nodes: { bad: { type: 'nope' }, broken: { type: 'run', script: 1 } } })
      } catch (error) {
        return error as GraphValidationError
      }
      return undefined
    })()
    expect(aggregate?.message).toBe(
      'Invalid graph (2 errors):\n' +
        '  - Node "bad" has unknown type "nope": expected one of local, run, image, check, deploy.push\n' +
        '  - Node "broken" has invalid config at script: expected string, received number 1',
    )
  })
})

describe('graph order', () => {
  it('orders topologically, ties broken by declaration order', () => {
    const graph = build({
      nodes: {
        test: { type: 'run', script: 't', mounts: { '/b': 'build' } },
        build: { type: 'run', script: 'b', mounts: { '/s': 'src' } },
        docs: { type: 'run', script: 'd' },
        src: { type: 'local', path: '.' },
        lint: { type: 'run', script: 'l', mounts: { '/s': 'src' } },
      },
    })
    expect(graph.order).toEqual(['docs', 'src', 'build', 'test', 'lint'])
    expect(graph.levels).toEqual([['docs', 'src'], ['build', 'lint'], ['test']])
    expect(graph.nodes.map((node) => node.id)).toEqual(['test', 'build', 'docs', 'src', 'lint'])
  })

  it('puts a node one level below its deepest dependency, counting after edges', () => {
    const graph = build({
      nodes: {
        a: { type: 'local', path: 'a' },
        b: { type: 'run', script: 'b', mounts: { '/a': 'a' } },
        c: { type: 'run', script: 'c', mounts: { '/a': 'a', '/b': 'b' } },
        d: { type: 'run', script: 'd', after: ['a'] },
        e: { type: 'local', path: 'e', after: ['c', 'd'] },
      },
    })
    expect(graph.levels).toEqual([['a'], ['b', 'd'], ['c'], ['e']])
    expect(graph.dependencies('c')).toEqual(['a', 'b'])
    expect(graph.dependents('a')).toEqual(['b', 'c', 'd'])
    expect(graph.upstream('e')).toEqual(['a', 'b', 'c', 'd'])
    expect(graph.edges.filter((edge) => edge.type === 'after')).toEqual([
      { from: 'a', to: 'd', type: 'after', path: ['after', 0] },
      { from: 'c', to: 'e', type: 'after', path: ['after', 0] },
      { from: 'd', to: 'e', type: 'after', path: ['after', 1] },
    ])
  })

  it('keeps one edge per reference but one dependency per node', () => {
    const graph = build({ nodes: { src: { type: 'local', path: '.' }, b: { type: 'run', script: 'b', mounts: { '/x': 'src', '/y': 'src' } } } })
    expect(graph.edges).toHaveLength(2)
    expect(graph.dependencies('b')).toEqual(['src'])
  })

  it('records outputs, phase and the plugin per node', () => {
    const graph = build({ nodes: { base: { type: 'image', ref: 'x' }, scan: { type: 'check', image: 'base' }, build: { type: 'run', script: 'b', outputs: { bin: '/out' } } } })
    expect(graph.node('build')).toMatchObject({ outputs: { default: 'filesystem', bin: 'filesystem' }, phase: 'build', plugin: { name: 'kiln-plugin-test' } })
    expect(graph.node('scan')?.phase).toBe('check')
  })
})

describe('params and secrets', () => {
  it('interpolates params, keeping the type of a whole expression', () => {
    const graph = buildGraph(
      {
        params: { version: { default: '0.0.0-dev' }, strict: true },
        nodes: { base: { type: 'image', ref: 'app:${{ params.version }}' }, scan: { type: 'check', image: 'base', nonRoot: '${{ params.strict }}' } },
      },
      registry,
      { params: { version: '1.2.3' } },
    )
    expect(graph.params).toEqual({ version: '1.2.3', strict: true })
    expect(graph.node('base')?.config).toEqual({ ref: 'app:1.2.3' })
    expect(graph.node('scan')?.config).toMatchObject({ nonRoot: true })
  })

  it('reports unknown and missing params', () => {
    const errors = errorsOf(() =>
      buildGraph({ params: { version: {}, tag: 'x' }, nodes: { base: { type: 'image', ref: '${{ params.verison }}' } } }, registry, { params: { tga: 'y' } }),
    )
    expect(errors.map((error) => [error.code, error.message])).toEqual([
      ['GRAPH_MISSING_PARAM', 'Param "version" has no value: expected a value (--set version=…) or a default, received none'],
      ['GRAPH_UNKNOWN_PARAM', 'Unknown param "tga": expected one of version, tag (did you mean "tag"?)'],
      ['GRAPH_UNKNOWN_PARAM', 'Node "base" uses unknown param "verison" at ref: expected tag'],
    ])
  })

  it('checks secret names against the declared secrets', () => {
    const [error] = errorsOf(() =>
      build({
        secrets: { registry: { env: 'TOKEN' } },
        nodes: { base: { type: 'image', ref: 'x' }, push: { type: 'deploy.push', image: 'base', to: 'r/app', auth: 'registri' } },
      }),
    )
    expect(error?.code).toBe('GRAPH_UNKNOWN_SECRET')
    expect(error?.message).toBe('Node "push" uses undeclared secret "registri" at auth: expected registry (did you mean "registry"?)')
    expect(error).toMatchObject({ nodeId: 'push', path: ['auth'] })
  })
})
