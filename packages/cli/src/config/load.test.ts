import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, UsageError } from '../errors.js'
import { loadConfig } from './load.js'

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-config-'))
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

async function loadError(dir: string, options: Partial<Parameters<typeof loadConfig>[0]> = {}): Promise<Error> {
  try {
    await loadConfig({ cwd: dir, displayBase: dir, env: {}, ...options })
  } catch (error) {
    return error as Error
  }
  throw new Error('expected loadConfig to fail')
}

describe('loadConfig: kiln.yaml', () => {
  it('finds kiln.yaml in a parent directory and reads nodes, params and plugins', async () => {
    const dir = project({
      'kiln.yaml': 'plugins: ["kiln-plugin-x", { name: "@acme/kiln-plugin-y", options: { level: 2 } }]\nparams:\n  version: { default: 1.0.0 }\nnodes:\n  hello: { type: run, script: "echo ${{ params.version }}" }\n',
      'sub/dir/.keep': '',
    })
    const loaded = await loadConfig({ cwd: join(dir, 'sub/dir'), displayBase: dir, env: {} })
    expect(loaded.displayPath).toBe('kiln.yaml')
    expect(loaded.projectDir).toBe(dir)
    expect(loaded.nodes).toEqual({ hello: { type: 'run', script: 'echo 1.0.0' } })
    expect(loaded.plugins.map((plugin) => [plugin.name, plugin.options, plugin.position.line, plugin.position.column])).toEqual([
      ['kiln-plugin-x', undefined, 1, 11],
      ['@acme/kiln-plugin-y', { level: 2 }, 1, 28],
    ])
  })

  it('reports YAML syntax errors with line and column', async () => {
    const dir = project({ 'kiln.yaml': 'nodes:\n  a: { type: run\n  b: [\n' })
    const error = await loadError(dir)
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toMatch(/^kiln\.yaml:\d+:\d+: YAML syntax error: /)
  })

  it('reports duplicate keys (a duplicate node id) at the second occurrence', async () => {
    const dir = project({ 'kiln.yaml': 'nodes:\n  a: { type: run }\n  a: { type: run }\n' })
    const error = await loadError(dir)
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toBe('kiln.yaml:3:3: node "a": duplicate node id "a"')
  })

  it('rejects unknown top-level keys with their position', async () => {
    const dir = project({ 'kiln.yaml': 'nodes: {}\nsteps:\n  - a\n' })
    expect((await loadError(dir)).message).toBe(
      'kiln.yaml:2:1: unknown top-level key "steps": expected version, plugins, params, secrets, nodes, policies\n  hint: nodes go under nodes:',
    )
  })

  it('says what to do when there is no config', async () => {
    const error = await loadError(project({}))
    expect(error).toBeInstanceOf(UsageError)
    expect(error.message).toMatch(/^no kiln\.yaml or kiln\.ts in /)
  })

  it('refuses two configs in one directory', async () => {
    const error = await loadError(project({ 'kiln.yaml': 'nodes: {}', 'kiln.ts': 'export default { nodes: {} }' }))
    expect(error.message).toMatch(/has both kiln\.ts and kiln\.yaml/)
  })

  it('takes -f FILE', async () => {
    const dir = project({ 'pipelines/other.yaml': 'nodes:\n  x: { type: run }\n' })
    const loaded = await loadConfig({ cwd: dir, file: 'pipelines/other.yaml', displayBase: dir, env: {} })
    expect(loaded.displayPath).toBe('pipelines/other.yaml')
    expect(Object.keys(loaded.nodes)).toEqual(['x'])
  })
})

describe('profiles', () => {
  const base = 'params:\n  mode: { default: dev }\nnodes:\n  build:\n    type: run\n    env: { MODE: "${{ params.mode }}", KEEP: yes }\n    network: none\n  lint: { type: run }\n'

  it('deep-merges kiln.<profile>.yaml over kiln.yaml; null removes a key', async () => {
    const dir = project({ 'kiln.yaml': base, 'kiln.ci.yaml': 'params:\n  mode: { default: ci }\nnodes:\n  build:\n    network: host\n  lint: null\n' })
    const loaded = await loadConfig({ cwd: dir, profiles: ['ci'], displayBase: dir, env: {} })
    expect(loaded.nodes).toEqual({ build: { type: 'run', env: { MODE: 'ci', KEEP: 'yes' }, network: 'host' } })
  })

  it('locates errors in the overlay when the overlay wrote the field, else in the base', async () => {
    const dir = project({ 'kiln.yaml': base, 'kiln.ci.yaml': 'nodes:\n  build:\n    network: host\n' })
    const loaded = await loadConfig({ cwd: dir, profiles: ['ci'], displayBase: dir, env: {} })
    expect(loaded.locator.locate(['nodes', 'build', 'network'])).toEqual({ file: 'kiln.ci.yaml', line: 3, column: 14 })
    expect(loaded.locator.locate(['nodes', 'build', 'env', 'KEEP'])).toEqual({ file: 'kiln.yaml', line: 6, column: 46 })
  })

  it('a missing profile file is a user error', async () => {
    const error = await loadError(project({ 'kiln.yaml': base }), { profiles: ['prod'] })
    expect(error).toBeInstanceOf(UsageError)
    expect(error.message).toBe('profile "prod": kiln.prod.yaml does not exist')
  })
})

describe('params', () => {
  const yaml = 'params:\n  version: 0.0.0-dev\n  count: { default: 3 }\n  target: { description: where }\nnodes:\n  a:\n    type: run\n    script: "v=${{ params.version }} t=${{params.target}}"\n    replicas: ${{ params.count }}\n'

  it('--set beats KILN_PARAM_<NAME> beats --params-file beats the default; a whole expression keeps its type', async () => {
    const dir = project({ 'kiln.yaml': yaml, 'params.yaml': 'version: from-file\ntarget: file\ncount: 5\n' })
    const loaded = await loadConfig({
      cwd: dir,
      displayBase: dir,
      set: ['target=cli'],
      env: { KILN_PARAM_VERSION: 'from-env' },
      paramsFile: join(dir, 'params.yaml'),
    })
    expect(loaded.params).toEqual({ version: 'from-env', count: 5, target: 'cli' })
    expect(loaded.nodes.a).toEqual({ type: 'run', script: 'v=from-env t=cli', replicas: 5 })
  })

  it('a parameter without default nor value is an error at its declaration', async () => {
    const error = await loadError(project({ 'kiln.yaml': yaml }))
    expect(error.message).toBe('kiln.yaml:4:11: field params.target: parameter "target" has no value\n  hint: pass --set target=VALUE or set KILN_PARAM_TARGET')
  })

  it('an unknown --set key is a user error listing the declared ones', async () => {
    const error = await loadError(project({ 'kiln.yaml': yaml }), { set: ['target=x', 'verison=1'] })
    expect(error).toBeInstanceOf(UsageError)
    expect(error.message).toBe('--set verison=1: unknown parameter "verison"')
    expect((error as UsageError).hint).toBe('declared parameters: version, count, target')
  })

  it('an unknown ${{ params.x }} is located at the string, with the node and field', async () => {
    const dir = project({ 'kiln.yaml': 'nodes:\n  build:\n    type: run\n    env:\n      V: "${{ params.nope }}"\n' })
    const error = await loadError(dir)
    expect(error.message).toMatch(/^kiln\.yaml:5:10: node "build": field env\.V: unknown parameter "nope" in \$\{\{ params\.nope \}\}/)
  })

  it('refuses to interpolate secrets', async () => {
    const dir = project({ 'kiln.yaml': 'secrets:\n  token: { env: TOKEN }\nnodes:\n  deploy:\n    type: run\n    script: "curl -H ${{ secrets.token }}"\n' })
    expect((await loadError(dir)).message).toMatch(/^kiln\.yaml:6:13: node "deploy": field script: secrets cannot be interpolated/)
  })

  it('leaves other namespaces (matrix) for the node types', async () => {
    const dir = project({ 'kiln.yaml': 'nodes:\n  t: { type: run, script: "make test SHARD=${{ matrix.shard }}" }\n' })
    const loaded = await loadConfig({ cwd: dir, displayBase: dir, env: {} })
    expect(loaded.nodes.t).toEqual({ type: 'run', script: 'make test SHARD=${{ matrix.shard }}' })
  })
})

describe('policies', () => {
  it('reads severity overrides and rejects anything else at its position', async () => {
    const ok = await loadConfig({ cwd: project({ 'kiln.yaml': 'policies:\n  images.pinned: off\n  network.host: warn\nnodes: {}\n' }), env: {} })
    expect(ok.policies).toEqual({ 'images.pinned': 'off', 'network.host': 'warn' })
    const dir = project({ 'kiln.yaml': 'policies:\n  images.pinned: loud\nnodes: {}\n' })
    expect((await loadError(dir)).message).toBe('kiln.yaml:2:18: field policies.images.pinned: invalid severity for rule "images.pinned": expected warn, deny or off, received "loud"')
  })
})

describe('secrets', () => {
  it('are declared at load time and read only when resolved; a missing one points at its declaration', async () => {
    const dir = project({ 'kiln.yaml': 'secrets:\n  token: { env: TOKEN }\n  key: { file: ./key.txt }\nnodes: {}\n', 'key.txt': 'k3y' })
    const loaded = await loadConfig({ cwd: dir, displayBase: dir, env: {} })
    expect(loaded.secrets.names()).toEqual(['token', 'key'])
    expect(new TextDecoder().decode((await loaded.secrets.resolve(['key'])).get('key'))).toBe('k3y')
    const error = await loaded.secrets.resolve(['token']).catch((caught: unknown) => caught as Error)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toBe(
      'kiln.yaml:2:10: field secrets.token: secret "token" is missing: environment variable TOKEN is not set\n  hint: export TOKEN=...',
    )
  })

  it('reports a missing secret file', async () => {
    const dir = project({ 'kiln.yaml': 'secrets:\n  key: { file: ./nope.txt }\nnodes: {}\n' })
    const loaded = await loadConfig({ cwd: dir, displayBase: dir, env: {} })
    await expect(loaded.secrets.resolve()).rejects.toThrow('kiln.yaml:2:8: field secrets.key: secret "key" is missing: file ./nope.txt does not exist')
  })

  it('rejects a malformed declaration', async () => {
    const dir = project({ 'kiln.yaml': 'secrets:\n  key: { vault: x }\nnodes: {}\n' })
    expect((await loadError(dir)).message).toBe('kiln.yaml:2:8: field secrets.key: invalid secret "key": expected { env: VARIABLE } or { file: path }, received { vault }')
  })
})

describe('loadConfig: kiln.ts', () => {
  it('loads a config object', async () => {
    const dir = project({ 'kiln.ts': 'const nodes: Record<string, unknown> = { a: { type: "run" } }\nexport default { nodes }\n' })
    const loaded = await loadConfig({ cwd: dir, displayBase: dir, env: {} })
    expect(loaded.format).toBe('ts')
    expect(loaded.nodes).toEqual({ a: { type: 'run' } })
  })

  it('calls a config function with params and takes a nodes map', async () => {
    const dir = project({
      'kiln.ts': 'export const params = { version: { default: "1" } }\nexport default ({ params }: { params: { version: string } }) => ({ build: { type: "run", script: `v${params.version}` } })\n',
    })
    const loaded = await loadConfig({ cwd: dir, displayBase: dir, env: {}, set: ['version=2'] })
    expect(loaded.nodes).toEqual({ build: { type: 'run', script: 'v2' } })
  })

  it('resolves node handles made with core factories into references', async () => {
    const core = new URL('../../../core/src/index.ts', import.meta.url).pathname
    const dir = project({
      'kiln.ts': [
        `import { createNode, defineConfig } from ${JSON.stringify(core)}`,
        'export default defineConfig(({ params }) => {',
        '  const src = createNode("local", { path: "." })',
        '  const build = createNode("run", { mounts: { "/src": src }, script: `make ${params.version}` })',
        '  return { params: { version: "1.2.3" }, nodes: { src, build } }',
        '})',
        '',
      ].join('\n'),
    })
    const loaded = await loadConfig({ cwd: dir, displayBase: dir, env: {} })
    expect(loaded.nodes).toEqual({ src: { type: 'local', path: '.' }, build: { type: 'run', mounts: { '/src': 'src' }, script: 'make 1.2.3' } })
    expect(loaded.params).toEqual({ version: '1.2.3' })
  })

  it('a TypeScript error names the file', async () => {
    const dir = project({ 'kiln.ts': 'export default {{{' })
    expect((await loadError(dir)).message).toMatch(/^kiln\.ts: cannot load: /)
  })
})
