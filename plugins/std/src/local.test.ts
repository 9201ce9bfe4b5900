import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeTypeTester } from '@kiln/core/testing'
import { describe, expect, it } from 'vitest'
import { marshal, resultOp, stateOf } from './__fixtures__/llb.js'
import { createLocalType, localType } from './local.js'
import { runType } from './run.js'
import { definitionRequirements, parseDockerignore } from './runtime.js'

const tester = new NodeTypeTester(localType)

describe('local', () => {
  it('validates its config', () => {
    expect(tester.errors({ path: '.' })).toEqual([])
    expect(tester.errors({ path: '', exclude: 'node_modules', dockerignore: 'yes' }).map((error) => [error.path, error.message])).toEqual([
      [['path'], 'Node "node" has invalid config at path: expected a string of at least 1 character(s), received 0 character(s)'],
      [['exclude'], 'Node "node" has invalid config at exclude: expected array, received "node_modules"'],
      [['dockerignore'], 'Node "node" has invalid config at dockerignore: expected boolean, received "yes"'],
    ])
    expect(tester.parse({ path: '.' })).toEqual({ path: '.', dockerignore: true })
  })

  it('is a local source named after the node, with its patterns and the host path for the runtime', async () => {
    const config = { path: 'app', include: ['src/**'], exclude: ['**/*.log', 'node_modules'], followPaths: ['src'] }
    const { outputs, targets } = await tester.compile(config, { nodeId: 'src' })
    expect(targets).toEqual([])
    expect(outputs.default.kind).toBe('filesystem')
    const source = resultOp(marshal(stateOf(outputs.default)))
    expect(source.op.source).toEqual({
      identifier: 'local://src',
      attrs: {
        'local.includepattern': '["src/**"]',
        'local.excludepatterns': '["**/*.log","node_modules"]',
        'local.followpaths': '["src"]',
        'local.sharedkeyhint': 'src',
        'local.unique': 'kiln-test',
      },
    })
    expect(source.metadata.description).toEqual({ 'kiln.local.path': 'app', 'kiln.local.dockerignore': 'true', 'llb.customname': 'local app' })
    // Only v0.8 caps: marshal above checked them against dockerd 20.10's list.
    expect(Object.keys(source.metadata.caps ?? {}).sort()).toEqual(['source.local', 'source.local.excludepatterns', 'source.local.followpaths', 'source.local.includepatterns', 'source.local.sharedkeyhint', 'source.local.unique'])
    // The description is metadata: where the host directory is never changes the digest.
    const elsewhere = await new NodeTypeTester(createLocalType({ baseDir: '/elsewhere' })).compile(config, { nodeId: 'src' })
    expect(resultOp(marshal(stateOf(elsewhere.outputs.default))).digest).toBe(source.digest)
    expect(source.digest).toBe('sha256:819824498d894f91b94d7eff756d84f3723ca5eeab8920a0407b6a5a37b0fd82')
  })

  it('resolves relative paths against baseDir when the plugin is given one', async () => {
    const type = createLocalType({ baseDir: '/projects/app' })
    const relative = await new NodeTypeTester(type).compile({ path: 'src' }, { nodeId: 'src' })
    const absolute = await new NodeTypeTester(type).compile({ path: '/data', dockerignore: false }, { nodeId: 'data' })
    expect(resultOp(marshal(stateOf(relative.outputs.default))).metadata.description?.['kiln.local.path']).toBe('/projects/app/src')
    expect(resultOp(marshal(stateOf(absolute.outputs.default))).metadata.description).toMatchObject({ 'kiln.local.path': '/data', 'kiln.local.dockerignore': 'false' })
  })
})

describe('definitionRequirements', () => {
  it('finds the host directories of local sources (with .dockerignore) and the entitlements of a definition', async () => {
    const project = mkdtempSync(join(tmpdir(), 'kiln-std-'))
    writeFileSync(join(project, '.dockerignore'), '# comment\n\n/node_modules\n*.log\n!keep.log\n./tmp/../dist/\n')
    const src = await tester.compile({ path: '.' }, { nodeId: 'src' })
    const assets = await tester.compile({ path: '/srv/assets', dockerignore: false }, { nodeId: 'assets' })
    const run = await new NodeTypeTester(runType).compile(
      { from: 'busybox:latest', mounts: { '/src': 'src', '/assets': 'assets' }, script: 'wget example.com', network: 'host' },
      { inputs: { src: src.outputs.default, assets: assets.outputs.default } },
    )
    const definition = marshal(stateOf(run.outputs.default))
    const expected = {
      localDirs: { src: { path: project, excludePatterns: ['node_modules', '*.log', '!keep.log', 'dist'] }, assets: { path: '/srv/assets' } },
      entitlements: ['network.host'],
    }
    expect(definitionRequirements(definition, { baseDir: project })).toEqual(expected)
    expect(definitionRequirements(definition.bytes, { baseDir: project })).toEqual(expected)
  })

  it('needs nothing for a hermetic definition without local sources', async () => {
    const run = await new NodeTypeTester(runType).compile({ from: 'busybox:latest', command: ['true'] })
    expect(definitionRequirements(marshal(stateOf(run.outputs.default)), { baseDir: '/' })).toEqual({ localDirs: {}, entitlements: [] })
  })

  it('parses .dockerignore like Docker', () => {
    expect(parseDockerignore('a\r\n  b/  \n#c\n! d\n/e/./f\n\n')).toEqual(['a', 'b', '!d', 'e/f'])
  })
})
