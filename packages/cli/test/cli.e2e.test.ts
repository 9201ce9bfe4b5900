import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { flavor, kiln, project, requireBuilt } from './kiln.js'

beforeAll(() => requireBuilt())

const unique = () => `${Date.now()}-${Math.random().toString(36).slice(2)}`

describe(`kiln on the ${flavor()} engine`, () => {
  it('runs a pipeline, then serves it from cache', async () => {
    const id = unique()
    const dir = project({ 'kiln.yaml': `nodes:\n  hello:\n    type: run\n    from: busybox:latest\n    script: echo "hello from kiln ${id}"\n` })
    const first = await kiln(['run', '--progress', 'plain'], { cwd: dir })
    expect(first.stderr).toContain(`[hello] hello from kiln ${id}`)
    expect(first.stderr).toMatch(/ ✓ hello\s+\d+\.\ds {2}ok\n1 node: 1 ok in/)
    expect(first.code).toBe(0)
    const second = await kiln(['run', '--progress', 'plain'], { cwd: dir })
    expect(second.code).toBe(0)
    expect(second.stderr).toMatch(/\[hello\] done in \d+\.\ds \(cached\)/)
    expect(second.stderr).toMatch(/1 node: 1 cached in/)
  })

  it('a multi-node pipeline: local sources, outputs between nodes, a cache mount, parallel shards, an export', async () => {
    const id = unique()
    const dir = project({
      'src/main.sh': `echo "built ${id}"\n`,
      'src/test.sh': 'grep -q built "$1"\n',
      'src/debug.log': 'excluded\n',
      'kiln.yaml': [
        'params:',
        '  version: { default: 0.0.0-dev }',
        'nodes:',
        '  src: { type: local, path: src, exclude: ["*.log"] }',
        '  build:',
        '    type: run',
        '    from: busybox:latest',
        '    mounts: { /src: src }',
        '    caches: { /cache: kiln-e2e-cache }',
        '    script: mkdir -p /out && sh /src/main.sh > /out/app-${{ params.version }}.txt && ls /src > /out/files.txt && date >> /cache/runs',
        '    outputs: { bin: /out }',
        ...[1, 2, 3].flatMap((shard) => [`  test${shard}:`, '    type: run', '    from: busybox:latest', '    mounts: { /src: src, /artifacts: build.bin }', `    script: sh /src/test.sh /artifacts/app-1.2.3.txt && echo shard ${shard} ok`]),
        '  package:',
        '    type: export',
        '    from: build.bin',
        '    to: { local: dist }',
        '',
      ].join('\n'),
    })
    const result = await kiln(['run', '--progress', 'plain', '--set', 'version=1.2.3'], { cwd: dir })
    expect(result.stderr).toContain('[test2] shard 2 ok')
    expect(result.code).toBe(0)
    expect(readFileSync(join(dir, 'dist', 'app-1.2.3.txt'), 'utf8')).toBe(`built ${id}\n`)
    expect(readFileSync(join(dir, 'dist', 'files.txt'), 'utf8')).toBe('main.sh\ntest.sh\n')
    expect(result.stderr).toMatch(/6 nodes: /)
  })

  it('runs a node with what it depends on only', async () => {
    const dir = project({
      'kiln.yaml': 'nodes:\n  a: { type: run, from: busybox:latest, script: echo A-ran }\n  b: { type: run, from: busybox:latest, script: echo B-ran, after: [a] }\n  c: { type: run, from: busybox:latest, script: echo C-ran }\n',
    })
    const result = await kiln(['run', 'b', '--progress', 'plain'], { cwd: dir, env: { KILN_PARAM_X: '1' } })
    expect(result.code).toBe(0)
    expect(result.stderr).toMatch(/2 nodes: /)
    expect(result.stderr).not.toContain('[c]')
  })

  it('fails fast with exit 1 and the failing step output; --keep-going finishes independent branches', async () => {
    const id = unique()
    const yaml = (sleep: number) =>
      `nodes:\n  bad: { type: run, from: busybox:latest, script: 'echo "about to fail ${id}"; exit 7' }\n  slow: { type: run, from: busybox:latest, script: 'sleep ${sleep}; echo slow-done ${id}' }\n  next: { type: run, from: busybox:latest, script: echo next, after: [bad] }\n`
    const started = Date.now()
    const failFast = await kiln(['run', '--progress', 'plain'], { cwd: project({ 'kiln.yaml': yaml(60) }) })
    // The 60 s sleep was cancelled on the engine, not waited for.
    expect(Date.now() - started).toBeLessThan(45_000)
    expect(failFast.code).toBe(1)
    expect(failFast.stderr).toContain(`[bad] about to fail ${id}`)
    expect(failFast.stderr).toMatch(/\[bad\] FAILED after .*exit code: 7/)
    expect(failFast.stderr).toMatch(/ - next\s+skipped/)
    expect(failFast.stderr).not.toContain(`[slow] slow-done ${id}`)
    const keepGoing = await kiln(['run', '--progress', 'plain', '--keep-going'], { cwd: project({ 'kiln.yaml': yaml(1) }) })
    expect(keepGoing.code).toBe(1)
    expect(keepGoing.stderr).toContain(`[slow] slow-done ${id}`)
    expect(keepGoing.stderr).toMatch(/ - next\s+skipped/)
  })

  it('mounts secrets from the session and redacts them from every output', async () => {
    const token = `tok-${unique()}`
    const dir = project({
      'kiln.yaml': 'secrets:\n  token: { env: E2E_TOKEN }\nnodes:\n  use:\n    type: run\n    from: busybox:latest\n    secrets: { token: null }\n    script: cat /run/secrets/token; echo; exit 3\n',
    })
    const result = await kiln(['run', '--progress', 'json'], { cwd: dir, env: { E2E_TOKEN: token } })
    expect(result.code).toBe(1)
    expect(result.stdout + result.stderr).not.toContain(token)
    expect(result.stdout).toContain('***')
    const missing = await kiln(['run'], { cwd: dir, env: { E2E_TOKEN: '' } })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toBe('kiln.yaml:2:10: field secrets.token: secret "token" is missing: environment variable E2E_TOKEN is not set\n  hint: export E2E_TOKEN=...\n')
  })

  it('a feature the engine lacks fails before anything runs, naming the node and the feature', async () => {
    const dir = project({
      'kiln.yaml': `secrets: { token: { env: E2E_TOKEN } }\nnodes:\n  other: { type: run, from: busybox:latest, script: 'echo other-ran-${unique()}' }\n  use: { type: run, from: busybox:latest, secrets: { token: { env: TOKEN } }, script: 'test -n "$TOKEN" && echo has-token ${unique()}' }\n`,
    })
    const result = await kiln(['run', '--progress', 'plain'], { cwd: dir, env: { E2E_TOKEN: 'secret-value-1234' } })
    if (flavor() === 'legacy') {
      // dockerd 20.10 (BuildKit 0.8) has no secret env vars: nothing runs.
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/^error: Node "use" needs exec\.secretenv .*, which dockerd 20\.10\.\S+ \(BuildKit v0\.8\) does not support/m)
      expect(result.stderr).not.toContain('other-ran')
    } else {
      expect(result.code).toBe(0)
      expect(result.stderr).toContain('[use] has-token ')
    }
  })

  it('--progress json writes one event per line on stdout', async () => {
    const dir = project({ 'kiln.yaml': 'nodes:\n  a: { type: run, from: busybox:latest, script: echo json }\n' })
    const result = await kiln(['run', '--progress', 'json'], { cwd: dir })
    expect(result.code).toBe(0)
    const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string })
    expect(events[0]?.type).toBe('run.started')
    expect(events.some((event) => event.type === 'node.done')).toBe(true)
    expect(events.at(-1)).toMatchObject({ type: 'run.summary', ok: true })
  })

  it('16 independent nodes run at once', async () => {
    const nodes = Array.from({ length: 16 }, (_, index) => `  n${index}: { type: run, from: busybox:latest, script: 'sleep 1; echo ${unique()}' }`).join('\n')
    const result = await kiln(['run', '--progress', 'plain'], { cwd: project({ 'kiln.yaml': `nodes:\n${nodes}\n` }) })
    expect(result.code).toBe(0)
    expect(result.stderr).toMatch(/16 nodes: 16 ok in/)
  })

  it('Ctrl-C cancels the run on the engine and exits 130', async () => {
    const dir = project({ 'kiln.yaml': `nodes:\n  long: { type: run, from: busybox:latest, script: 'echo started-${unique()}; sleep 60' }\n` })
    let sent = false
    const started = Date.now()
    const result = await kiln(['run', '--progress', 'plain'], {
      cwd: dir,
      onStderr: (text, child) => {
        if (!sent && text.includes('started-')) {
          sent = true
          child.kill('SIGINT')
        }
      },
    })
    expect(sent).toBe(true)
    expect(result.code).toBe(130)
    expect(result.stderr).toContain('interrupted')
    expect(Date.now() - started).toBeLessThan(50_000)
  })

  it('plan shows the LLB digest, the network mode and the phase per node', async () => {
    const dir = project({ 'kiln.yaml': 'nodes:\n  a: { type: run, from: busybox:latest, script: echo a }\n  b: { type: run, from: busybox:latest, script: echo b, network: host }\n' })
    const result = await kiln(['plan'], { cwd: dir })
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/\na\s+run\s+build\s+build\s+sha256:[0-9a-f]{12}\s+none/)
    expect(result.stdout).toMatch(/\nb\s+run\s+build\s+build\s+sha256:[0-9a-f]{12}\s+host/)
  })

  it('dump writes the LLB (json, dot, raw Definition bytes)', async () => {
    const dir = project({ 'kiln.yaml': 'nodes:\n  a: { type: run, from: busybox:latest, script: echo a }\n' })
    const json = await kiln(['dump', 'a'], { cwd: dir })
    expect(json.code).toBe(0)
    expect(json.stdout).toContain('docker-image://docker.io/library/busybox:latest')
    const raw = await kiln(['dump', 'a', '--format', 'raw'], { cwd: dir })
    expect(raw.code).toBe(0)
    expect(raw.stdout.length).toBeGreaterThan(50)
  })

  it('bad configs: located message and exit 2', async () => {
    const cases: [string, RegExp][] = [
      ['nodes:\n  a: { type: run\n', /^kiln\.yaml:\d+:\d+: YAML syntax error/],
      ['nodes:\n  a: { type: rnu }\n', /^kiln\.yaml:2:14: node "a": field type: unknown node type/],
      ['nodes:\n  a: { type: run, from: busybox:latest, script: 42 }\n', /^kiln\.yaml:2:\d+: node "a": field script: expected/],
      ['nodes:\n  a: { type: run, from: busybox:latest, script: x, mounts: { /s: nope } }\n', /^kiln\.yaml:2:\d+: node "a": field mounts\.\/s: reference to an unknown node/],
      ['nodes:\n  a: { type: run, from: busybox:latest, script: x, after: [b] }\n  b: { type: run, from: busybox:latest, script: x, after: [a] }\n', /^kiln\.yaml:2:\d+: node "a": field after\.0: cycle: a -> b -> a/],
      ['plugins: [kiln-plugin-nope]\nnodes: {}\n', /^kiln\.yaml:1:11: plugin "kiln-plugin-nope" is not installed/],
    ]
    for (const [yaml, message] of cases) {
      const result = await kiln(['run'], { cwd: project({ 'kiln.yaml': yaml }) })
      expect(result.code, yaml).toBe(2)
      expect(result.stderr).toMatch(message)
      expect(result.stderr).not.toMatch(/\n\s+at /)
    }
  })

  it('an unreachable engine is exit 3', async () => {
    const result = await kiln(['run'], { cwd: project({ 'kiln.yaml': 'nodes:\n  a: { type: run, from: busybox:latest, script: x }\n' }), env: { KILN_ENGINE: 'unix:///nonexistent/engine.sock' } })
    expect(result.code).toBe(3)
    expect(result.stderr).toMatch(/^error: cannot reach the engine at unix:\/\/\/nonexistent\/engine\.sock/)
  })

  it('doctor, du, graph, validate, schema, init, --version answer', async () => {
    const dir = project({})
    const doctor = await kiln(['doctor'], { cwd: dir })
    expect(doctor.code).toBe(0)
    expect(doctor.stdout).toMatch(/✓ busybox:latest/)
    expect(doctor.stdout).toMatch(/LLB capabilities: \d+ enabled/)
    const du = await kiln(['du'], { cwd: dir })
    expect(du.code).toBe(0)
    expect(du.stdout).toMatch(/cache records?, .* total/)
    expect((await kiln(['init'], { cwd: dir })).code).toBe(0)
    const run = await kiln(['run', '--progress', 'plain'], { cwd: dir })
    expect(run.code).toBe(0)
    expect(run.stderr).toContain('hello from kiln')
    expect((await kiln(['validate'], { cwd: dir })).stdout).toMatch(/^kiln\.yaml: ok/)
    expect((await kiln(['graph'], { cwd: dir })).stdout).toMatch(/^flowchart LR/)
    expect((await kiln(['schema'], { cwd: dir })).code).toBe(0)
    expect(existsSync(join(dir, '.kiln', 'schema.json'))).toBe(true)
    expect((await kiln(['--version'], { cwd: dir })).stdout).toMatch(/^\d+\.\d+\.\d+\n$/)
    expect((await kiln(['engine', 'status', flavor()], { cwd: dir })).code).toBe(0)
  })

  it('runs a kiln.ts pipeline (typed config through jiti) with and without the code cache', async () => {
    const marker = unique()
    const dir = project({
      'kiln.ts': [
        'const greeting: string = "hello from kiln.ts"',
        'export const params = { who: { default: "ts" } }',
        'export default ({ params }: { params: { who: string } }) => ({',
        `  hello: { type: "run", from: "busybox:latest", script: \`echo \${greeting} \${params.who} ${marker}\` },`,
        '})',
        '',
      ].join('\n'),
    })
    const cacheDir = mkdtempSync(join(tmpdir(), 'kiln-v8-'))
    for (const state of ['miss', 'hit']) {
      const result = await kiln(['run', '--progress', 'plain', '--set', 'who=e2e'], { cwd: dir, env: { KILN_CACHE_DIR: cacheDir, KILN_DEBUG: 'timing' } })
      expect(result.code, result.stderr).toBe(0)
      expect(result.stderr).toContain(`bundle loaded (code cache: ${state})`)
      expect(result.stderr).toContain(`hello from kiln.ts e2e ${marker}`)
    }
  })

  it("keeps V8's compiled code of the CLI between runs, and runs the same without it", async () => {
    const dir = project({ 'kiln.yaml': 'nodes:\n  hello: { type: run, from: busybox:latest, script: echo hi }\n' })
    const cacheDir = mkdtempSync(join(tmpdir(), 'kiln-v8-'))
    const env = { KILN_CACHE_DIR: cacheDir, KILN_DEBUG: 'timing' }
    const first = await kiln(['validate'], { cwd: dir, env })
    expect(first.code).toBe(0)
    expect(first.stderr).toContain('bundle loaded (code cache: miss)')
    expect(readdirSync(join(cacheDir, 'v8'))).toEqual([expect.stringMatching(new RegExp(`^[0-9a-f]{32}-${process.version}-${process.arch}\\.v8$`))])
    const second = await kiln(['validate'], { cwd: dir, env })
    expect(second.code).toBe(0)
    expect(second.stderr).toContain('bundle loaded (code cache: hit)')
    expect(second.stdout).toBe(first.stdout)
    const off = await kiln(['validate'], { cwd: dir, env: { ...env, KILN_NO_COMPILE_CACHE: '1' } })
    expect(off.stderr).toContain('bundle loaded (code cache: off)')
    expect(off.stdout).toBe(first.stdout)
  })
})
