import { describe, expect, it } from 'vitest'
import { CoreError, ERROR_CODES, GraphError, GraphValidationError, isCoreError, PluginError } from './index.js'

describe('CoreError', () => {
  it('carries code, structured fields and cause', () => {
    const cause = new Error('boom')
    const error = new GraphError('GRAPH_CYCLE', 'Cycle: a -> a', { nodeId: 'a', nodes: ['a', 'a'], expected: 'x', received: 'y', path: ['after', 0], cause })
    expect(error).toBeInstanceOf(CoreError)
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('GraphError')
    expect(error).toMatchObject({ code: 'GRAPH_CYCLE', nodeId: 'a', expected: 'x', received: 'y', path: ['after', 0] })
    expect(error.details).toMatchObject({ nodes: ['a', 'a'] })
    expect(error.cause).toBe(cause)
    expect(error.toJSON()).toEqual({ name: 'GraphError', code: 'GRAPH_CYCLE', message: 'Cycle: a -> a', details: { nodeId: 'a', nodes: ['a', 'a'], expected: 'x', received: 'y', path: ['after', 0] } })
  })

  it('is recognised by isCoreError, with or without a code', () => {
    const error = new CoreError('BUILDKIT_UNAVAILABLE', 'no engine')
    expect(isCoreError(error)).toBe(true)
    expect(isCoreError(error, 'BUILDKIT_UNAVAILABLE')).toBe(true)
    expect(isCoreError(error, 'GRAPH_CYCLE')).toBe(false)
    expect(isCoreError(new Error('x'))).toBe(false)
    expect(isCoreError('BUILDKIT_UNAVAILABLE')).toBe(false)
    expect(isCoreError(null)).toBe(false)
  })

  it('is recognised across duplicate installs through the registered symbol', () => {
    // What another copy of core (or @kiln/llb) produces: a plain Error with the same registered marker.
    const foreign = Object.assign(new Error('bad state'), { code: 'LLB_INVALID_DEFINITION' })
    Object.defineProperty(foreign, Symbol.for('kiln.core.error'), { value: true })
    expect(isCoreError(foreign, 'LLB_INVALID_DEFINITION')).toBe(true)
    expect(foreign instanceof CoreError).toBe(false)
  })

  it('has namespaced, unique codes', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length)
    for (const code of ERROR_CODES) expect(code).toMatch(/^(GRAPH|NODE|PLUGIN|POLICY|CONFIG|SECRET|LLB|BUILDKIT)_[A-Z_]+$/)
  })
})

describe('PluginError', () => {
  it('names the plugin, hook and node, and keeps the cause and its code', () => {
    const cause = new CoreError('LLB_INVALID_ARGUMENT', 'bad mount')
    const error = new PluginError({ plugin: '@acme/kiln-plugin-x', hook: 'compile', nodeId: 'build', cause })
    expect(error.message).toBe('Plugin @acme/kiln-plugin-x failed in compile for node "build": bad mount')
    expect(error).toMatchObject({ code: 'PLUGIN_ERROR', plugin: '@acme/kiln-plugin-x', hook: 'compile', nodeId: 'build' })
    expect(error.details).toMatchObject({ causeCode: 'LLB_INVALID_ARGUMENT' })
    expect(error.cause).toBe(cause)
  })

  it('describes non-Error throws', () => {
    expect(new PluginError({ plugin: 'p', hook: 'policy', cause: 'oops' }).message).toBe('Plugin p failed in policy: threw "oops"')
  })
})

describe('GraphValidationError', () => {
  it('lists every error in its message and keeps them', () => {
    const errors = [new GraphError('GRAPH_CYCLE', 'Cycle: a -> a'), new GraphError('GRAPH_DUPLICATE_ID', 'Duplicate node id "b"')]
    const error = new GraphValidationError(errors)
    expect(error.code).toBe('GRAPH_INVALID')
    expect(error.errors).toBe(errors)
    expect(error.message).toBe('Invalid graph (2 errors):\n  - Cycle: a -> a\n  - Duplicate node id "b"')
    expect(error.details).toMatchObject({ codes: ['GRAPH_CYCLE', 'GRAPH_DUPLICATE_ID'] })
  })
})
