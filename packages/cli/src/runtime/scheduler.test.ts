import { createPlan, type Plan } from '@kiln/core'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { eventLog, FakeEngine, fakeLoader, testPlugin, type FakeBehaviour } from '../testing.js'
import { Project } from './project.js'
import { Redactor } from './redaction.js'
import { holdsResult, Scheduler, type SchedulerOptions } from './scheduler.js'

async function planOf(yaml: string): Promise<{ plan: Plan; project: Project }> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-scheduler-'))
  writeFileSync(join(dir, 'kiln.yaml'), yaml)
  const project = await Project.load({ cwd: dir, displayBase: dir, env: { TOKEN: 's3cr3t-token-value' } }, { builtinPlugins: ['kiln-plugin-test'], cliDir: dir, loader: fakeLoader({ 'kiln-plugin-test': testPlugin }) })
  const { plan } = await project.plan()
  return { plan, project }
}

async function run(yaml: string, behaviour: Record<string, FakeBehaviour>, options: { keepGoing?: boolean; signal?: AbortSignal; solvedWithin?: SchedulerOptions['solvedWithin'] } = {}) {
  const { plan, project } = await planOf(yaml)
  const engine = new FakeEngine(behaviour)
  const { events, emit } = eventLog()
  const redactor = new Redactor()
  const secrets = await project.config.secrets.resolve(project.secretsOf(plan))
  for (const value of secrets.values()) redactor.add(value)
  const scheduler = new Scheduler(engine, {
    emit,
    redactor,
    secrets: { resolve: async (name) => secrets.get(name) ?? new Uint8Array() },
    ...options,
  })
  const summary = await scheduler.run(plan)
  const status = Object.fromEntries(summary.results.map((result) => [result.nodeId, result.status]))
  return { summary, status, events, engine }
}

const sixteen = `nodes:\n${Array.from({ length: 16 }, (_, index) => `  n${index}: { type: step }`).join('\n')}\n`

describe('Scheduler', () => {
  it('starts every target whose dependencies are ready at once', async () => {
    const behaviour = Object.fromEntries(Array.from({ length: 16 }, (_, index) => [`n${index}`, { duration: 40 }]))
    const { summary, engine } = await run(sixteen, behaviour)
    expect(summary.ok).toBe(true)
    expect(engine.maxConcurrent).toBe(16)
  })

  it('runs a node after what it depends on, and reports ok and cached per node', async () => {
    const yaml = 'nodes:\n  a: { type: step }\n  b: { type: step, inputs: [a] }\n  c: { type: step, inputs: [b] }\n'
    const { status, engine, summary } = await run(yaml, { a: { cached: true }, b: { duration: 10 } })
    expect(engine.started).toEqual(['a#build', 'b#build', 'c#build'])
    expect(status).toEqual({ a: 'cached', b: 'ok', c: 'ok' })
    const b = summary.results.find((result) => result.nodeId === 'b')
    expect(b?.durationMs).toBeGreaterThanOrEqual(5)
  })

  it('fails fast: the first failure cancels running solves on the engine and skips the rest', async () => {
    const yaml = 'nodes:\n  slow: { type: step }\n  bad: { type: step }\n  after: { type: step, inputs: [bad] }\n  later: { type: step, inputs: [slow] }\n'
    const { status, engine, summary, events } = await run(yaml, { slow: { duration: 2000 }, bad: { duration: 5, fail: 'exit code 2' } })
    expect(summary.ok).toBe(false)
    expect(status).toEqual({ slow: 'skipped', bad: 'failed', after: 'skipped', later: 'skipped' })
    expect(engine.cancelled).toEqual(['slow#build'])
    expect(engine.started).not.toContain('later#build')
    expect(events.find((event) => event.type === 'node.failed')).toMatchObject({ nodeId: 'bad', error: { message: 'exit code 2' } })
  })

  it('--keep-going finishes independent branches and skips only what depends on the failure', async () => {
    const yaml = 'nodes:\n  slow: { type: step }\n  bad: { type: step }\n  after: { type: step, inputs: [bad] }\n  later: { type: step, inputs: [slow] }\n'
    const { status, engine } = await run(yaml, { slow: { duration: 50 }, bad: { fail: 'boom' } }, { keepGoing: true })
    expect(status).toEqual({ slow: 'ok', bad: 'failed', after: 'skipped', later: 'ok' })
    expect(engine.cancelled).toEqual([])
  })

  it('runs publish nodes only after every check passed', async () => {
    const yaml = 'nodes:\n  build: { type: step }\n  test: { type: step, inputs: [build], phase: check }\n  lint: { type: step, phase: check }\n  push: { type: step, inputs: [build], phase: publish }\n'
    const { engine, status } = await run(yaml, { lint: { duration: 60 }, test: { duration: 20 } })
    expect(status).toEqual({ build: 'ok', test: 'ok', lint: 'ok', push: 'ok' })
    expect(engine.started.indexOf('push#publish')).toBe(3)
    expect(engine.finished.slice(0, 3).sort()).toEqual(['build#build', 'lint#check', 'test#check'])
  })

  it('a failing check stops publishing even with --keep-going', async () => {
    const yaml = 'nodes:\n  build: { type: step }\n  test: { type: step, phase: check }\n  push: { type: step, inputs: [build], phase: publish }\n  docs: { type: step }\n'
    const { status, engine, events } = await run(yaml, { test: { fail: 'test failed' }, docs: { duration: 30 } }, { keepGoing: true })
    expect(status).toEqual({ build: 'ok', test: 'failed', push: 'skipped', docs: 'ok' })
    expect(engine.started).not.toContain('push#publish')
    expect(events.find((event) => event.type === 'node.skipped')).toMatchObject({ nodeId: 'push', reason: 'test failed' })
  })

  it('an abort signal (Ctrl-C) cancels running solves and skips everything else', async () => {
    const { plan } = await planOf('nodes:\n  a: { type: step }\n  b: { type: step, inputs: [a] }\n')
    const engine = new FakeEngine({ a: { duration: 5000 } })
    const controller = new AbortController()
    const { emit } = eventLog()
    const running = new Scheduler(engine, { emit, signal: controller.signal }).run(plan)
    while (engine.started.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    controller.abort()
    const summary = await running
    expect(Object.fromEntries(summary.results.map((result) => [result.nodeId, result.status]))).toEqual({ a: 'skipped', b: 'skipped' })
    expect(engine.cancelled).toEqual(['a#build'])
  })

  it('emits run.started, queued, started, done and run.finished in order', async () => {
    const { events } = await run('nodes:\n  a: { type: step }\n', {})
    expect(events.map((event) => event.type)).toEqual(['run.started', 'node.queued', 'node.started', 'node.progress', 'node.done', 'run.finished'])
  })

  it('passes secrets through the session only and redacts them from logs, errors and values', async () => {
    const yaml = 'secrets:\n  token: { env: TOKEN }\nnodes:\n  deploy: { type: step, secrets: [token] }\n'
    const { engine, events, summary } = await run(yaml, { deploy: { logs: ['using s3cr3t-token-value now\n'], fail: 'auth s3cr3t-token-value rejected' } })
    expect(engine.secretsSeen).toEqual({ token: 's3cr3t-token-value' })
    const text = JSON.stringify(events) + JSON.stringify(summary)
    expect(text).not.toContain('s3cr3t-token-value')
    expect(events.find((event) => event.type === 'node.log')).toMatchObject({ text: 'using *** now\n' })
    expect(summary.results[0]?.error?.message).toBe('auth *** rejected')
  })

  it('records run-time values per node', async () => {
    const { summary } = await run('nodes:\n  a: { type: step }\n', { a: { values: { digest: 'sha256:abc' } } })
    expect(summary.results[0]?.values).toEqual({ digest: 'sha256:abc' })
  })

  it('a plan with nodes but no targets finishes at once', async () => {
    const { plan } = await planOf('nodes:\n  v: { type: value, value: x }\n')
    const empty = createPlan(plan.compiled)
    const { emit, events } = eventLog()
    const summary = await new Scheduler(new FakeEngine(), { emit }).run(empty)
    expect(summary.results).toMatchObject([{ nodeId: 'v', status: 'ok' }])
    expect(events.map((event) => event.type)).toContain('node.done')
  })

  describe('targets whose solve holds their dependencies', () => {
    const chain = 'nodes:\n  a: { type: step }\n  b: { type: step, inputs: [a] }\n  c: { type: step, inputs: [b], phase: check }\n'
    const within = { solvedWithin: () => true }

    it('start alongside them and are reported after them, in order', async () => {
      const { status, engine, events } = await run(chain, { a: { duration: 30, cached: true }, b: { duration: 5, cached: true, logs: ['b says hi\n'] } }, within)
      expect(engine.maxConcurrent).toBe(3)
      expect(status).toEqual({ a: 'cached', b: 'cached', c: 'ok' })
      const order = events.filter((event) => event.type === 'node.started' || event.type === 'node.done' || event.type === 'node.log').map((event) => `${event.type} ${event.nodeId}`)
      expect(order).toEqual(['node.started a', 'node.done a', 'node.started b', 'node.log b', 'node.done b', 'node.started c', 'node.done c'])
    })

    it('are cancelled and skipped when a dependency fails', async () => {
      const { status, engine, events } = await run(chain, { a: { duration: 20, fail: 'boom' }, b: { duration: 2000 }, c: { duration: 2000 } }, { ...within, keepGoing: true })
      expect(status).toEqual({ a: 'failed', b: 'skipped', c: 'skipped' })
      expect(engine.cancelled.sort()).toEqual(['b#build', 'c#check'])
      expect(events.filter((event) => event.type === 'node.started').map((event) => event.nodeId)).toEqual(['a'])
    })

    it('is decided per dependency: a target waits for a dependency its solve does not hold', async () => {
      const { engine } = await run(chain, { a: { duration: 20 } }, { solvedWithin: () => false })
      expect(engine.started).toEqual(['a#build', 'b#build', 'c#check'])
      expect(engine.maxConcurrent).toBe(1)
    })
  })

  it('holdsResult: a definition holds another when its ops include the other result op', () => {
    const ops = new Map([['sha256:a', {}], ['sha256:b', {}]])
    expect(holdsResult({ ops, digest: 'sha256:b' }, { digest: 'sha256:a' })).toBe(true)
    expect(holdsResult({ ops, digest: 'sha256:b' }, { digest: 'sha256:c' })).toBe(false)
    expect(holdsResult({ ops }, { digest: undefined })).toBe(false)
  })
})
