import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../errors.js'
import { collectPluginSources, isPluginPackageName, loadPlugins, NodeModuleLoader, pluginsFromPackageJson } from './discover.js'

function writePackage(root: string, name: string, body: string, manifest: Record<string, unknown> = {}): void {
  const dir = join(root, 'node_modules', name)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', exports: { '.': { import: './index.js' } }, ...manifest }))
  writeFileSync(join(dir, 'index.js'), body)
}

const pluginBody = (name: string) =>
  `export default function plugin(options = {}) { return { meta: { name: ${JSON.stringify(name)}, version: '1.0.0' }, apiVersion: 'v1', nodeTypes: [], options } }\n`

function projectWith(dependencies: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-plugins-'))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', dependencies, devDependencies: { 'left-pad': '1', 'kiln-plugin-dev': '1' } }))
  return dir
}

describe('plugin discovery', () => {
  it('recognises the plugin package name shapes', () => {
    expect(['@kiln/plugin-deploy', 'kiln-plugin-foo', '@acme/kiln-plugin-bar'].every(isPluginPackageName)).toBe(true)
    expect(['@kiln/core', 'kiln', 'plugin-kiln-x', '@acme/plugin-x', 'left-pad'].some(isPluginPackageName)).toBe(false)
  })

  it('finds plugins among dependencies and devDependencies', () => {
    const dir = projectWith({ '@kiln/plugin-policy': '1', '@acme/kiln-plugin-bar': '1', react: '1' })
    expect(pluginsFromPackageJson(dir)).toEqual(['@acme/kiln-plugin-bar', '@kiln/plugin-policy', 'kiln-plugin-dev'])
  })

  it('merges built-ins, dependencies and the plugins: list without duplicates; config options win', () => {
    const dir = projectWith({ '@kiln/plugin-policy': '1' })
    const sources = collectPluginSources({
      builtin: ['@kiln/plugin-std'],
      projectDir: dir,
      requests: [
        { name: '@kiln/plugin-policy', options: { strict: true }, position: { file: 'kiln.yaml', line: 1, column: 12 } },
        { name: 'kiln-plugin-extra', position: { file: 'kiln.yaml', line: 1, column: 40 } },
      ],
    })
    expect(sources.map((source) => [source.name, source.origin, source.options])).toEqual([
      ['@kiln/plugin-std', 'builtin', undefined],
      ['@kiln/plugin-policy', 'config', { strict: true }],
      ['kiln-plugin-dev', 'dependency', undefined],
      ['kiln-plugin-extra', 'config', undefined],
    ])
  })

  it('resolves from the project directory and calls the default export with the options', async () => {
    const dir = projectWith({ '@acme/kiln-plugin-bar': '1' })
    writePackage(dir, '@acme/kiln-plugin-bar', pluginBody('@acme/kiln-plugin-bar'))
    const loaded = await loadPlugins([{ name: '@acme/kiln-plugin-bar', origin: 'config', options: { level: 3 } }], {
      projectDir: join(dir),
      cliDir: dir,
      configFile: 'kiln.yaml',
    })
    expect(loaded).toHaveLength(1)
    expect(loaded[0]?.plugin).toMatchObject({ meta: { name: '@acme/kiln-plugin-bar' }, options: { level: 3 } })
  })

  it('resolves a package from a parent node_modules and honours exports conditions', () => {
    const dir = projectWith({})
    writePackage(dir, 'kiln-plugin-x', pluginBody('x'), { exports: { '.': { types: './index.d.ts', require: './nope.cjs', import: './index.js' } } })
    mkdirSync(join(dir, 'nested', 'deeper'), { recursive: true })
    expect(new NodeModuleLoader({ sourceCondition: false }).resolve('kiln-plugin-x', join(dir, 'nested', 'deeper'))).toBe(join(dir, 'node_modules', 'kiln-plugin-x', 'index.js'))
  })

  it('a missing plugin is a config error at its plugins: entry naming the package to install', async () => {
    const dir = projectWith({})
    const error = await loadPlugins(
      [
        { name: '@kiln/plugin-dockerfile', origin: 'config', position: { file: 'kiln.yaml', line: 1, column: 11 } },
        { name: 'kiln-plugin-dev', origin: 'dependency' },
      ],
      { projectDir: dir, cliDir: dir, configFile: 'kiln.yaml' },
    ).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toBe(
      [
        'kiln.yaml:1:11: plugin "@kiln/plugin-dockerfile" is not installed',
        `  hint: install it in ${dir}: npm install --save-dev @kiln/plugin-dockerfile (or pnpm add -D @kiln/plugin-dockerfile)`,
        'package.json: plugin "kiln-plugin-dev" is not installed',
        `  hint: install it in ${dir}: npm install --save-dev kiln-plugin-dev (or pnpm add -D kiln-plugin-dev)`,
      ].join('\n'),
    )
  })

  it('a package that is not a plugin is reported', async () => {
    const dir = projectWith({})
    writePackage(dir, 'kiln-plugin-bad', 'export default 42\n')
    await expect(loadPlugins([{ name: 'kiln-plugin-bad', origin: 'config' }], { projectDir: dir, cliDir: dir, configFile: 'kiln.yaml' })).rejects.toThrow(
      'kiln.yaml: "kiln-plugin-bad" is not a Kiln plugin: expected a default export returning definePlugin({ meta, apiVersion, nodeTypes }), received number',
    )
  })

  it("uses the CLI's own copy of a built-in plugin only when the resolved package has the same version", async () => {
    const dir = projectWith({ '@kiln/plugin-std': '1' })
    writePackage(dir, '@kiln/plugin-std', pluginBody('from node_modules'))
    const carried = (version: string) => ({ '@kiln/plugin-std': { version, load: async () => ({ default: () => ({ meta: { name: 'carried' }, apiVersion: 'v1', nodeTypes: [] }) }) } })
    const load = (version: string) =>
      loadPlugins([{ name: '@kiln/plugin-std', origin: 'builtin' }], { projectDir: dir, cliDir: dir, configFile: 'kiln.yaml', loader: new NodeModuleLoader({ sourceCondition: false }), builtinModules: carried(version) })
    expect((await load('1.0.0'))[0]?.plugin).toMatchObject({ meta: { name: 'carried' } })
    expect((await load('1.0.1'))[0]?.plugin).toMatchObject({ meta: { name: 'from node_modules' } })
  })
})
