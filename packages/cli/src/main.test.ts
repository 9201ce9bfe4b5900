import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Io } from './io.js'
import { main } from './main.js'

function capture(cwd: string, env: Record<string, string> = {}) {
  const out: string[] = []
  const err: string[] = []
  const io: Io = { stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => err.push(text) }, env: { KILN_ENGINE: 'unix:///nonexistent/kiln-test.sock', ...env }, cwd }
  return { io, out: () => out.join(''), err: () => err.join('') }
}

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-main-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

async function kiln(args: string[], cwd: string, env: Record<string, string> = {}) {
  const io = capture(cwd, env)
  const code = await main(args, io.io)
  return { code, stdout: io.out(), stderr: io.err() }
}

const good = 'params:\n  greeting: { default: hi }\nnodes:\n  src: { type: local, path: . }\n  build:\n    type: run\n    from: busybox:latest\n    mounts: { /src: src }\n    script: echo ${{ params.greeting }}\n'

describe('kiln (in process)', { timeout: 60_000 }, () => {
  it('--version and --help exit 0', async () => {
    const dir = project({})
    const version = await kiln(['--version'], dir)
    expect(version.code).toBe(0)
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/)
    for (const args of [['--help'], ['run', '--help'], ['plan', '--help'], ['engine', 'start', '--help'], ['schema', '--help']]) {
      const help = await kiln(args, dir)
      expect(help.code).toBe(0)
      expect(help.stdout).toContain('Usage: kiln')
    }
  })

  it('an unknown flag or command is a user error (exit 2)', async () => {
    const dir = project({})
    expect((await kiln(['run', '--nope'], dir)).code).toBe(2)
    expect((await kiln(['frobnicate'], dir)).code).toBe(2)
    const progress = await kiln(['--progress', 'fancy', 'run'], dir)
    expect(progress.code).toBe(2)
    expect(progress.stderr).toContain("option '--progress <mode>' argument 'fancy' is invalid")
  })

  it('validate: ok', async () => {
    const result = await kiln(['validate'], project({ 'kiln.yaml': good }))
    expect(result).toMatchObject({ code: 0, stderr: '' })
    expect(result.stdout).toBe('kiln.yaml: ok (2 nodes, 1 edge; plugins: @kiln/plugin-std)\n')
  })

  it.each([
    ['a YAML syntax error', 'nodes:\n  a: { type: run\n', /^kiln\.yaml:\d+:\d+: YAML syntax error: /],
    ['an unknown type', 'nodes:\n  a: { type: rnu }\n', /^kiln\.yaml:2:14: node "a": field type: unknown node type: expected one of .*, received "rnu"\n {2}hint: did you mean "run"\?/],
    ['a schema error', 'nodes:\n  a:\n    type: run\n    from: busybox:latest\n    script: 42\n', /^kiln\.yaml:5:13: node "a": field script: expected .*, received number 42/],
    ['a dangling reference', 'nodes:\n  a:\n    type: run\n    from: busybox:latest\n    mounts: { /src: nope }\n    script: "true"\n', /^kiln\.yaml:5:21: node "a": field mounts\.\/src: reference to an unknown node/],
    ['a cycle', 'nodes:\n  a: { type: run, from: busybox:latest, script: "true", after: [b] }\n  b: { type: run, from: busybox:latest, script: "true", after: [a] }\n', /^kiln\.yaml:2:\d+: node "a": field after\.0: cycle: a -> b -> a/],
    ['a duplicate id', 'nodes:\n  a: { type: run, from: busybox:latest, script: "true" }\n  a: { type: run, from: busybox:latest, script: "true" }\n', /^kiln\.yaml:3:3: node "a": duplicate node id "a"/],
    ['a missing plugin', 'plugins: ["@kiln/plugin-nope"]\nnodes: {}\n', /^kiln\.yaml:1:11: plugin "@kiln\/plugin-nope" is not installed\n {2}hint: install it in .*: npm install --save-dev @kiln\/plugin-nope/],
    ['an undeclared secret', 'nodes:\n  a:\n    type: run\n    from: busybox:latest\n    script: "true"\n    secrets: { token: null }\n', /^kiln\.yaml:6:\d+: node "a": field secrets\.token: undeclared secret/],
  ])('%s: located message, exit 2, no stack trace', async (_name, yaml, message) => {
    const result = await kiln(['validate'], project({ 'kiln.yaml': yaml }))
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it('a missing secret fails the run before the engine is contacted (exit 2)', async () => {
    const yaml = 'secrets:\n  token: { env: KILN_TEST_TOKEN }\nnodes:\n  a:\n    type: run\n    from: busybox:latest\n    script: "true"\n    secrets: { token: null }\n'
    const dir = project({ 'kiln.yaml': yaml })
    expect((await kiln(['validate'], dir)).code).toBe(0)
    const result = await kiln(['run'], dir)
    expect(result.code).toBe(2)
    expect(result.stderr).toBe('kiln.yaml:2:10: field secrets.token: secret "token" is missing: environment variable KILN_TEST_TOKEN is not set\n  hint: export KILN_TEST_TOKEN=...\n')
  })

  it('an unreachable engine is exit 3 with what to do', async () => {
    const result = await kiln(['run'], project({ 'kiln.yaml': good }))
    expect(result.code).toBe(3)
    expect(result.stderr).toMatch(/^error: cannot reach the engine at unix:\/\/\/nonexistent\/kiln-test\.sock \(from KILN_ENGINE\)/)
    expect(result.stderr).toContain('hint: start the project engine with `kiln engine start`')
  })

  it('config errors win over engine errors', async () => {
    const result = await kiln(['run'], project({ 'kiln.yaml': 'nodes:\n  a: { type: rnu }\n' }))
    expect(result.code).toBe(2)
  })

  it('an unknown node on the command line is exit 2', async () => {
    const result = await kiln(['run', 'biuld'], project({ 'kiln.yaml': good }))
    expect(result.code).toBe(2)
    expect(result.stderr).toBe('error: unknown node "biuld"\nhint: nodes in kiln.yaml: src, build\n')
  })

  it('--set, --profile and -C apply', async () => {
    const dir = project({ 'kiln.yaml': good, 'kiln.ci.yaml': 'nodes:\n  build:\n    script: echo ci\n' })
    const parent = join(dir, '..')
    const plan = await kiln(['-C', dir, 'plan', '--format', 'json', '--profile', 'ci'], parent)
    expect(plan.code).toBe(0)
    const planned = JSON.parse(plan.stdout) as { nodes: { id: string; targets: { network: string[] }[] }[] }
    expect(planned.nodes.map((node) => node.id)).toEqual(['src', 'build'])
    expect(planned.nodes[1]?.targets[0]?.network).toEqual(['none'])
    const unknown = await kiln(['validate', '--set', 'nope=1'], dir)
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toBe('error: --set nope=1: unknown parameter "nope"\nhint: declared parameters: greeting\n')
  })

  it('graph draws mermaid and dot', async () => {
    const dir = project({ 'kiln.yaml': good })
    const mermaid = await kiln(['graph'], dir)
    expect(mermaid.stdout).toBe('flowchart LR\n  n_src["src<br/><small>local</small>"]\n  n_build["build<br/><small>run</small>"]\n  n_src --> n_build\n')
    const dot = await kiln(['graph', '--format', 'dot'], dir)
    expect(dot.stdout).toContain('"src" -> "build";')
  })

  it('plan shows per node the phase, the LLB digest and the network; without an engine it says so', async () => {
    const result = await kiln(['plan'], project({ 'kiln.yaml': good }))
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('note: no engine at unix:///nonexistent/kiln-test.sock; planning without it (image configs not resolved)\n')
    expect(result.stdout).toMatch(/^NODE\s+TYPE\s+PHASE\s+TARGET\s+LLB DIGEST\s+NETWORK\s+OUTPUT\n/)
    expect(result.stdout).toMatch(/\nbuild\s+run\s+build\s+build\s+sha256:[0-9a-f]{12}\s+none/)
  })

  it('run without an engine: a plugin needing it while compiling still gives exit 3', async () => {
    const result = await kiln(['run', 'build'], project({ 'kiln.yaml': good }))
    expect(result.code).toBe(3)
  })

  it('dump prints the LLB as JSON, dot or raw bytes', async () => {
    const dir = project({ 'kiln.yaml': good })
    const json = await kiln(['dump', 'build'], dir)
    expect(json.code).toBe(0)
    expect(json.stdout).toContain('"Op"')
    const dot = await kiln(['dump', 'build', '--format', 'dot'], dir)
    expect(dot.stdout).toMatch(/^digraph/)
  })

  it('init writes a starter that validates; refuses to overwrite', async () => {
    const dir = project({})
    expect((await kiln(['init'], dir)).code).toBe(0)
    expect(existsSync(join(dir, 'kiln.yaml'))).toBe(true)
    expect((await kiln(['validate'], dir)).code).toBe(0)
    const again = await kiln(['init'], dir)
    expect(again.code).toBe(2)
    expect(again.stderr).toContain('already exists')
  })

  it('schema writes .kiln/schema.json with every std node type', async () => {
    const dir = project({ 'kiln.yaml': good })
    const result = await kiln(['schema'], dir)
    expect(result.code).toBe(0)
    const schema = JSON.parse(readFileSync(join(dir, '.kiln', 'schema.json'), 'utf8')) as { properties: { nodes: { additionalProperties: { properties: { type: { enum: string[] } }; allOf: { then: { properties: Record<string, unknown> } }[] } } } }
    const nodes = schema.properties.nodes.additionalProperties
    expect(nodes.properties.type.enum).toEqual(expect.arrayContaining(['image', 'local', 'git', 'http', 'run', 'copy', 'merge', 'export']))
    const run = nodes.allOf.find((branch) => JSON.stringify(branch).includes('"const":"run"'))
    expect(Object.keys(run?.then.properties ?? {})).toEqual(expect.arrayContaining(['type', 'after', 'from', 'script', 'mounts']))
  })

  it('engine status runs the repository script and passes its answer on', async () => {
    const result = await kiln(['engine', 'status', 'current'], project({}))
    const running = /current: running/.test(result.stdout + result.stderr)
    expect(result.code).toBe(running ? 0 : 3)
    expect(result.stdout + result.stderr).toMatch(/^current: /m)
  })

  it('the engine script is found from the CLI inside the repository only', async () => {
    const { findEngineScript } = await import('./commands/engine.js')
    expect(findEngineScript()).toBe(join(new URL('../../..', import.meta.url).pathname, 'scripts', 'engine.sh'))
    expect(findEngineScript(project({}))).toBeUndefined()
  })

  it('an internal error prints no stack trace unless KILN_DEBUG=1', async () => {
    const dir = project({ 'kiln.ts': 'export default () => { throw new Error("kaboom") }\n' })
    const plain = await kiln(['validate'], dir)
    expect(plain.code).toBe(2)
    expect(plain.stderr).toBe('kiln.ts: the config could not be resolved: kaboom\n')
    const debug = await kiln(['validate'], dir, { KILN_DEBUG: '1' })
    expect(debug.stderr).toMatch(/\n\s+at /)
  })
})
