import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, UsageError } from '../errors.js'
import { fakeLoader, testPlugin } from '../testing.js'
import { Project } from './project.js'

function write(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-project-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

async function load(yaml: string, extra: Record<string, string> = {}, modules: Record<string, unknown> = { 'kiln-plugin-test': testPlugin }) {
  const dir = write({ 'kiln.yaml': yaml, 'package.json': JSON.stringify({ name: 'app', devDependencies: { 'kiln-plugin-test': '1' } }), ...extra })
  return Project.load({ cwd: dir, displayBase: dir, env: {} }, { builtinPlugins: [], cliDir: dir, loader: fakeLoader(modules) })
}

async function graphError(yaml: string): Promise<string> {
  const project = await load(yaml)
  try {
    project.graph()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as Error).message
  }
  throw new Error('expected a graph error')
}

describe('Project: graph errors carry file:line:column, node and field', () => {
  it('a schema error names the field, what was expected and what was received', async () => {
    const message = await graphError('nodes:\n  src: { type: step }\n  build:\n    type: step\n    mounts:\n      /src: 42\n')
    expect(message).toBe('kiln.yaml:6:13: node "build": field mounts./src: expected a reference to filesystem output ("nodeId" or "nodeId.output"), received number 42')
  })

  it('an unknown field points at the key', async () => {
    const message = await graphError('nodes:\n  build:\n    type: step\n    scirpt: make\n')
    expect(message).toBe('kiln.yaml:4:5: node "build": field scirpt: expected a known field, received unknown field "scirpt"')
  })

  it('an unknown type suggests the closest kind', async () => {
    const message = await graphError('nodes:\n  build: { type: stpe }\n')
    expect(message).toBe('kiln.yaml:2:18: node "build": field type: unknown node type: expected one of step, value, received "stpe"\n  hint: did you mean "step"?')
  })

  it('an unknown type from a known plugin says which package to install', async () => {
    const message = await graphError('nodes:\n  push: { type: deploy.push }\n')
    expect(message).toBe(
      'kiln.yaml:2:17: node "push": field type: unknown node type: expected one of step, value, received "deploy.push"\n  hint: "deploy.push" comes from @kiln/plugin-deploy: install it (npm install --save-dev @kiln/plugin-deploy) and list it under plugins:',
    )
  })

  it('a dangling reference is located at the reference', async () => {
    const message = await graphError('nodes:\n  src: { type: step }\n  build:\n    type: step\n    inputs: [src, srcc]\n')
    expect(message).toBe('kiln.yaml:5:19: node "build": field inputs.1: reference to an unknown node: expected src, received "srcc"\n  hint: did you mean "src"?')
  })

  it('a dangling after: is located in after', async () => {
    const message = await graphError('nodes:\n  a: { type: step }\n  b:\n    type: step\n    after: [nope]\n')
    expect(message).toMatch(/^kiln\.yaml:5:13: node "b": field after\.0: reference to an unknown node: expected a, received "nope"/)
  })

  it('a cycle is located at the reference that closes it', async () => {
    const message = await graphError('nodes:\n  a:\n    type: step\n    inputs: [c]\n  b:\n    type: step\n    inputs: [a]\n  c: { type: step, inputs: [b] }\n')
    expect(message).toBe('kiln.yaml:4:14: node "a": field inputs.0: cycle: a -> b -> c -> a\n  hint: a node cannot depend on itself, directly or through others')
  })

  it('an undeclared secret is an error at its use', async () => {
    const message = await graphError('secrets:\n  token: { env: TOKEN }\nnodes:\n  deploy: { type: step, secrets: [tokn] }\n')
    expect(message).toBe('kiln.yaml:4:35: node "deploy": field secrets.0: undeclared secret: expected token, received "tokn"\n  hint: did you mean "token"?')
  })

  it('reports every error at once', async () => {
    const message = await graphError('nodes:\n  a: { type: nope }\n  b: { type: step, inputs: [zzz] }\n')
    expect(message.split('\n').filter((line) => line.startsWith('kiln.yaml'))).toHaveLength(2)
  })

  it('two plugins registering one kind is an error naming both', async () => {
    const dir = write({
      'kiln.yaml': 'plugins: [kiln-plugin-other]\nnodes: {}\n',
      'package.json': JSON.stringify({ name: 'app', devDependencies: { 'kiln-plugin-test': '1' } }),
    })
    const error = await Project.load(
      { cwd: dir, displayBase: dir, env: {} },
      { builtinPlugins: [], cliDir: dir, loader: fakeLoader({ 'kiln-plugin-test': testPlugin, 'kiln-plugin-other': () => testPlugin({ name: 'kiln-plugin-other', kinds: ['value'] }) }) },
    ).then(() => new Error('expected a failure'), (caught: unknown) => caught as Error)
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toBe('kiln.yaml:1:11: Node type "value" is registered twice: by kiln-plugin-test and by kiln-plugin-other')
  })

  it('a missing plugin from plugins: is an error at its entry', async () => {
    const dir = write({ 'kiln.yaml': 'plugins:\n  - "@kiln/plugin-dockerfile"\nnodes: {}\n' })
    const error = await Project.load({ cwd: dir, displayBase: dir, env: {} }, { builtinPlugins: [], cliDir: dir, loader: fakeLoader({}) }).then(() => new Error('expected a failure'), (caught: unknown) => caught as Error)
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message.split('\n')[0]).toBe('kiln.yaml:2:5: plugin "@kiln/plugin-dockerfile" is not installed')
  })
})

describe('Project: planning', () => {
  const yaml = 'params:\n  version: 1.0.0\nsecrets:\n  token: { env: TOKEN }\nnodes:\n  src: { type: step }\n  build: { type: step, inputs: [src], script: "make ${{ params.version }}" }\n  test: { type: step, inputs: [build], phase: check }\n  push: { type: step, inputs: [build], phase: publish, secrets: [token] }\n  other: { type: step }\n'

  it('plans every node with phases; publish targets wait for every check', async () => {
    const project = await load(yaml)
    const { plan, policy } = await project.plan()
    expect(plan.nodes.map((node) => [node.id, node.phase])).toEqual([
      ['src', 'build'],
      ['build', 'build'],
      ['test', 'check'],
      ['push', 'publish'],
      ['other', 'build'],
    ])
    expect(plan.target('push#publish')?.dependsOn).toEqual(expect.arrayContaining(['build#build', 'test#check', 'other#build', 'src#build']))
    expect(policy.denied).toBe(false)
    expect(project.secretsOf(plan)).toEqual(['token'])
  })

  it('a selection plans the node with what it depends on', async () => {
    const project = await load(yaml)
    const { plan } = await project.plan({ nodes: ['test'] })
    expect(plan.nodes.map((node) => node.id)).toEqual(['src', 'build', 'test'])
  })

  it('an unknown node on the command line is a user error', async () => {
    const project = await load(yaml)
    const error = await project.plan({ nodes: ['tset'] }).then(() => new UsageError('expected a failure'), (caught: unknown) => caught as UsageError)
    expect(error).toBeInstanceOf(UsageError)
    expect(error.message).toBe('unknown node "tset"')
    expect(error.hint).toBe('nodes in kiln.yaml: src, build, test, push, other')
  })
})
