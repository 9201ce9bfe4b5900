import { isCoreError } from '@kiln/core'
import { describe, expect, it } from 'vitest'
import policyPlugin, { DEFAULT_SEVERITIES, RULE_IDS, resolvePolicyOptions } from './index.js'

function errorOf(options: unknown): { message: string; path: unknown; expected: unknown; received: unknown } {
  try {
    resolvePolicyOptions(options)
  } catch (error) {
    expect(isCoreError(error, 'CONFIG_INVALID')).toBe(true)
    const { message, path, expected, received } = error as { message: string; path: unknown; expected: unknown; received: unknown }
    return { message, path, expected, received }
  }
  throw new Error('expected resolvePolicyOptions to throw')
}

describe('resolvePolicyOptions', () => {
  it('applies defaults: every rule on with its default severity, images.registries off without allow', () => {
    const { rules } = resolvePolicyOptions()
    expect(Object.keys(rules)).toEqual([...RULE_IDS])
    expect(rules['images.pinned']).toEqual({ severity: 'warn', allowNodes: [], allowTypes: [] })
    expect(rules['images.registries']).toEqual({ severity: 'off', allowNodes: [], allowTypes: [], allow: [] })
    expect(rules['network.host']).toEqual({ severity: 'deny', allowNodes: [], allowTypes: [] })
    expect(rules['deploy.requiresChecks']).toEqual({ severity: 'deny', allowNodes: [], allowTypes: [], requireCheck: false })
    expect(DEFAULT_SEVERITIES['secrets.mountsOnly']).toBe('deny')
    expect(resolvePolicyOptions(null)).toEqual(resolvePolicyOptions({}))
  })

  it('takes a severity alone or an object with the rule options; allow turns images.registries on (deny)', () => {
    const { rules } = resolvePolicyOptions({
      rules: {
        'images.pinned': 'deny',
        'images.registries': { allow: ['127.0.0.1:5000/'] },
        'network.host': { severity: 'warn', allowTypes: ['deploy.run'], allowNodes: ['fetch'] },
        'deploy.requiresChecks': { requireCheck: true },
      },
    })
    expect(rules['images.pinned'].severity).toBe('deny')
    expect(rules['images.registries']).toEqual({ severity: 'deny', allow: ['127.0.0.1:5000/'], allowNodes: [], allowTypes: [] })
    expect(rules['network.host']).toEqual({ severity: 'warn', allowTypes: ['deploy.run'], allowNodes: ['fetch'] })
    expect(rules['deploy.requiresChecks']).toEqual({ severity: 'deny', requireCheck: true, allowNodes: [], allowTypes: [] })
  })

  it('rejects an unknown rule id, listing the known ones', () => {
    expect(errorOf({ rules: { 'images.pined': 'deny' } })).toEqual({
      message: 'Invalid @kiln/plugin-policy option options.rules["images.pined"]: expected a rule id (one of images.pinned, images.registries, network.host, security.insecure, secrets.mountsOnly, deploy.requiresChecks), received "images.pined"',
      path: ['options', 'rules', 'images.pined'],
      expected: 'a rule id (one of images.pinned, images.registries, network.host, security.insecure, secrets.mountsOnly, deploy.requiresChecks)',
      received: '"images.pined"',
    })
  })

  it('rejects a wrong severity, alone or in an object', () => {
    expect(errorOf({ rules: { 'network.host': 'error' } }).message).toBe('Invalid @kiln/plugin-policy option options.rules["network.host"]: expected warn, deny or off (or an object with severity), received "error"')
    expect(errorOf({ rules: { 'network.host': { severity: 'fatal' } } }).message).toBe('Invalid @kiln/plugin-policy option options.rules["network.host"].severity: expected one of warn, deny, off, received "fatal"')
  })

  it('rejects unknown options and wrong types with the path', () => {
    expect(errorOf({ rules: { 'images.pinned': { allow: ['x'] } } }).message).toBe(
      'Invalid @kiln/plugin-policy option options.rules["images.pinned"]: expected no option "allow" (known: severity, allowNodes, allowTypes and the rule\'s own options), received "allow"',
    )
    const wrongType = errorOf({ rules: { 'network.host': { allowTypes: 'deploy.run' } } })
    expect(wrongType).toEqual({
      message: 'Invalid @kiln/plugin-policy option options.rules["network.host"].allowTypes: expected array, received "deploy.run"',
      path: ['options', 'rules', 'network.host', 'allowTypes'],
      expected: 'array',
      received: '"deploy.run"',
    })
    expect(errorOf({ rules: { 'deploy.requiresChecks': { requireCheck: 'yes' } } }).message).toBe('Invalid @kiln/plugin-policy option options.rules["deploy.requiresChecks"].requireCheck: expected boolean, received "yes"')
    expect(errorOf({ rules: { 'security.insecure': { allowNodes: ['ok', ''] } } }).message).toBe('Invalid @kiln/plugin-policy option options.rules["security.insecure"].allowNodes[1]: expected a non-empty string, received ""')
    expect(errorOf({ rules: { 'images.registries': { allow: [] } } }).message).toBe('Invalid @kiln/plugin-policy option options.rules["images.registries"].allow: expected at least 1 item, received an empty array')
  })

  it('requires allow when images.registries is turned on', () => {
    expect(errorOf({ rules: { 'images.registries': 'deny' } }).message).toBe(
      'Invalid @kiln/plugin-policy option options.rules["images.registries"].allow: expected a list of allowed registry prefixes (e.g. ["127.0.0.1:5000/"]) when the rule is on, received nothing',
    )
    expect(resolvePolicyOptions({ rules: { 'images.registries': 'off' } }).rules['images.registries'].severity).toBe('off')
  })

  it('rejects options that are not an object, unknown top-level keys, and rules that are not an object', () => {
    expect(errorOf('strict').message).toBe('Invalid @kiln/plugin-policy option options: expected an object with "rules", received "strict"')
    expect(errorOf({ rule: {} }).message).toBe('Invalid @kiln/plugin-policy option options.rule: expected only "rules", received "rule"')
    expect(errorOf({ rules: ['images.pinned'] }).message).toBe('Invalid @kiln/plugin-policy option options.rules: expected an object of rule ids, received an array')
  })
})

describe('policyPlugin', () => {
  it('registers both check node types and one policy per rule that is on, named by rule id, with its severity', () => {
    const plugin = policyPlugin({ rules: { 'images.pinned': 'deny', 'secrets.mountsOnly': 'off' } })
    expect(plugin.meta).toEqual({ name: '@kiln/plugin-policy', version: '0.1.0' })
    expect(plugin.apiVersion).toBe('v1')
    expect(plugin.nodeTypes?.map((type) => [type.kind, type.phase])).toEqual([
      ['policy.image', 'check'],
      ['policy.files', 'check'],
    ])
    expect(plugin.policies?.map((policy) => [policy.name, policy.severity])).toEqual([
      ['images.pinned', 'deny'],
      ['network.host', 'deny'],
      ['security.insecure', 'deny'],
      ['deploy.requiresChecks', 'deny'],
    ])
  })

  it('throws CONFIG_INVALID for invalid options (the CLI reports it on the plugin entry)', () => {
    expect(() => policyPlugin({ rules: { nope: 'deny' } } as never)).toThrow('Invalid @kiln/plugin-policy option options.rules.nope')
  })

  it('matches the version in package.json', async () => {
    const { readFile } = await import('node:fs/promises')
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string }
    expect(policyPlugin().meta).toEqual({ name: pkg.name, version: pkg.version })
  })
})
