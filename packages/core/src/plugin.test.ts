import { describe, expect, it } from 'vitest'
import { API_VERSION, createRegistry, definePlugin, isCoreError, redact } from './index.js'
import type { Plugin } from './index.js'
import { local, testPlugin } from './__fixtures__/plugin.js'

describe('createRegistry', () => {
  it('registers node types by kind and policies with their plugin', () => {
    const registry = createRegistry([testPlugin])
    expect(API_VERSION).toBe('v1')
    expect(registry.kinds()).toEqual(['local', 'run', 'image', 'check', 'deploy.push'])
    expect(registry.get('local')).toEqual({ nodeType: local, plugin: testPlugin.meta })
    expect(registry.get('nope')).toBeUndefined()
    expect(registry.policies()).toEqual([])
  })

  it('rejects a plugin of another API version, without a name, or registering a kind twice', () => {
    const capture = (plugins: Plugin[]) => {
      try {
        createRegistry(plugins)
      } catch (error) {
        return error
      }
      return undefined
    }
    const v2 = capture([{ meta: { name: 'p', version: '1' }, apiVersion: 'v2' as never }])
    expect(isCoreError(v2, 'PLUGIN_INVALID')).toBe(true)
    expect((v2 as Error).message).toBe('Plugin p uses apiVersion "v2": expected "v1"')
    expect((capture([{ meta: { name: '', version: '1' }, apiVersion: 'v1' }]) as Error).message).toBe('Invalid plugin: expected meta.name to be a non-empty string, received ""')
    const twice = capture([testPlugin, definePlugin({ meta: { name: 'other', version: '1' }, apiVersion: 'v1', nodeTypes: [local] })])
    expect(isCoreError(twice, 'PLUGIN_DUPLICATE_KIND')).toBe(true)
    expect((twice as Error).message).toBe('Node type "local" is registered twice: by kiln-plugin-test and by other')
  })
})

describe('redact', () => {
  it('hides every secret value, longest first, and ignores very short values', () => {
    expect(redact('token=s3cr3t-value and s3cr3t', ['s3cr3t', 's3cr3t-value'])).toBe('token=*** and ***')
    // A secret read from a file usually ends with a newline; the trimmed value is hidden too.
    expect(redact('password: hunter2 (again: hunter2\n)', [new TextEncoder().encode('hunter2\n')])).toBe('password: *** (again: ***)')
    expect(redact('a b c', ['a', 'b'])).toBe('a b c')
  })
})
