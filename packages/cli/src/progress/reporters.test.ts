import type { KilnEvent, RunSummary } from '@kiln/core'
import { describe, expect, it } from 'vitest'
import { formatSummary, noColors, shortError } from './format.js'
import { createReporter, JsonReporter, PlainReporter, resolveProgressMode, TtyReporter } from './index.js'

function sink(columns?: number) {
  const chunks: string[] = []
  return { chunks, write: (text: string) => void chunks.push(text), text: () => chunks.join(''), ...(columns === undefined ? {} : { columns }) }
}

const t0 = 1_000_000
const events: KilnEvent[] = [
  { type: 'run.started', time: t0, nodes: ['src', 'build', 'test'] },
  { type: 'node.queued', time: t0, nodeId: 'src' },
  { type: 'node.started', time: t0, nodeId: 'src' },
  // The engine adapter reports a cached vertex before its progress, as BuildKit sends both at once.
  { type: 'node.cached', time: t0, nodeId: 'src', vertex: 'sha256:a' },
  { type: 'node.progress', time: t0, nodeId: 'src', vertex: 'sha256:a', name: 'local src', started: t0 },
  { type: 'node.done', time: t0 + 100, nodeId: 'src', durationMs: 100, cached: true },
  { type: 'node.started', time: t0 + 100, nodeId: 'build' },
  { type: 'node.progress', time: t0 + 100, nodeId: 'build', vertex: 'sha256:b', name: '[build] make', started: t0 + 100 },
  { type: 'node.log', time: t0 + 200, nodeId: 'build', stream: 'stdout', text: 'line 1\nline 2\npart' },
  { type: 'node.log', time: t0 + 300, nodeId: 'build', stream: 'stderr', text: 'ial\nerror: boom\n' },
  { type: 'node.failed', time: t0 + 1600, nodeId: 'build', durationMs: 1500, error: { message: 'exit code: 2' } },
  { type: 'node.skipped', time: t0 + 1600, nodeId: 'test', reason: 'build failed' },
  { type: 'run.finished', time: t0 + 1600, ok: false, durationMs: 1600 },
]

const summary: RunSummary = {
  ok: false,
  durationMs: 1600,
  results: [
    { nodeId: 'src', status: 'cached', durationMs: 100, values: {} },
    { nodeId: 'build', status: 'failed', durationMs: 1500, values: {}, error: { message: 'exit code: 2' } },
    { nodeId: 'test', status: 'skipped', durationMs: 0, values: {} },
  ],
}

describe('PlainReporter', () => {
  it('prints line logs prefixed by node id, joins partial lines, and ends with the summary', () => {
    const out = sink()
    const reporter = new PlainReporter(out)
    for (const event of events) reporter.onEvent(event)
    reporter.close(summary)
    expect(out.text()).toBe(
      [
        '[src] started',
        '[src] => CACHED local src',
        '[src] done in 0.1s (cached)',
        '[build] started',
        '[build] => [build] make',
        '[build] line 1',
        '[build] line 2',
        '[build] partial',
        '[build] error: boom',
        '[build] FAILED after 1.5s: exit code: 2',
        '[test] skipped: build failed',
        ' ✓ src      0.1s  cached',
        ' ✗ build    1.5s  failed: exit code: 2',
        ' - test           skipped',
        '3 nodes: 1 cached, 1 failed, 1 skipped in 1.6s',
        '',
      ].join('\n'),
    )
  })
})

describe('JsonReporter', () => {
  it('writes one JSON event per line, then the summary', () => {
    const out = sink()
    const reporter = new JsonReporter(out)
    for (const event of events) reporter.onEvent(event)
    reporter.close(summary)
    const lines = out.text().trimEnd().split('\n').map((line) => JSON.parse(line) as { type: string })
    expect(lines).toHaveLength(events.length + 1)
    expect(lines[0]).toEqual(events[0])
    expect(lines.at(-1)).toMatchObject({ type: 'run.summary', ok: false, results: summary.results })
  })
})

describe('TtyReporter', () => {
  it('redraws one line per node in place and shows the last log lines of a failed node', () => {
    const out = sink(80)
    let now = t0
    const reporter = new TtyReporter(out, { interval: 0, now: () => now, style: noColors, tailLines: 2 })
    for (const event of events) {
      now = event.time
      reporter.onEvent(event)
    }
    const lastFrame = out.chunks.at(-1) ?? ''
    expect(lastFrame.startsWith('\u001b[4A\r\u001b[J')).toBe(true)
    expect(lastFrame).toContain('[+] Running 3/3')
    expect(lastFrame).toContain(' ✓ src      0.1s  cached')
    expect(lastFrame).toContain(' ✗ build    1.5s  failed: exit code: 2')
    expect(lastFrame).toContain(' - test           skipped: build failed')
    reporter.close(summary)
    const tail = out.text().slice(out.text().lastIndexOf('✗ build:'))
    expect(tail).toContain('✗ build: exit code: 2\n  last 2 lines of output:\n  │ partial\n  │ error: boom\n')
    expect(tail).toContain('3 nodes: 1 cached, 1 failed, 1 skipped in 1.6s')
  })

  it('shows the running step and elapsed time while a node runs', () => {
    const out = sink(80)
    let now = t0
    const reporter = new TtyReporter(out, { interval: 0, now: () => now, style: noColors })
    reporter.onEvent({ type: 'run.started', time: t0, nodes: ['build'] })
    reporter.onEvent({ type: 'node.started', time: t0, nodeId: 'build' })
    now = t0 + 2500
    reporter.onEvent({ type: 'node.progress', time: now, nodeId: 'build', vertex: 'v', name: '[build] RUN make all', started: now })
    expect(out.chunks.at(-1)).toMatch(/build {2}\s+2\.5s {2}\[build\] RUN make all/)
  })

  it('cuts lines to the terminal width', () => {
    const out = sink(40)
    const reporter = new TtyReporter(out, { interval: 0, style: noColors })
    reporter.onEvent({ type: 'run.started', time: t0, nodes: ['n'] })
    reporter.onEvent({ type: 'node.started', time: t0, nodeId: 'n' })
    reporter.onEvent({ type: 'node.progress', time: t0, nodeId: 'n', vertex: 'v', name: 'x'.repeat(200), started: t0 })
    const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g')
    for (const line of (out.chunks.at(-1) ?? '').replace(ansi, '').split('\n')) expect(line.length).toBeLessThan(40)
  })
})

describe('formatSummary', () => {
  it('lists the values a node produced (a digest after a push) under it', () => {
    const text = formatSummary({ ok: true, durationMs: 1200, results: [{ nodeId: 'push', status: 'ok', durationMs: 1200, values: { default: 'sha256:abc', url: 'http://x' } }] })
    expect(text).toBe(' ✓ push    1.2s  ok\n                 default: sha256:abc\n                 url: http://x\n1 node: 1 ok in 1.2s\n')
  })
})

describe('shortError', () => {
  it('keeps what a summary line needs of a BuildKit step failure', () => {
    expect(shortError('The build failed: process "/bin/sh -c make" did not complete successfully: exit code: 2')).toBe('exit code: 2')
    expect(shortError('check failed: image runs as root\nmore')).toBe('check failed: image runs as root')
  })
})

describe('progress mode', () => {
  const tty = { isTTY: true, write: () => undefined }
  const pipe = { isTTY: false, write: () => undefined }

  it('auto is tty on a terminal, plain on a pipe, in CI or with TERM=dumb', () => {
    expect(resolveProgressMode('auto', { stdout: tty, stderr: tty, env: {} })).toBe('tty')
    expect(resolveProgressMode('auto', { stdout: pipe, stderr: tty, env: {} })).toBe('plain')
    expect(resolveProgressMode('auto', { stdout: tty, stderr: tty, env: { CI: 'true' } })).toBe('plain')
    expect(resolveProgressMode('auto', { stdout: tty, stderr: tty, env: { TERM: 'dumb' } })).toBe('plain')
    expect(resolveProgressMode('json', { stdout: tty, stderr: tty, env: {} })).toBe('json')
    expect(() => resolveProgressMode('fancy', { stdout: tty, stderr: tty, env: {} })).toThrow('--progress fancy: expected one of auto, tty, plain, json')
  })

  it('json goes to stdout; plain and tty to stderr', () => {
    const stdout = sink()
    const stderr = sink()
    createReporter('json', { stdout, stderr }).onEvent(events[0] as KilnEvent)
    createReporter('plain', { stdout, stderr }).onEvent(events[2] as KilnEvent)
    expect(stdout.text()).toContain('run.started')
    expect(stderr.text()).toBe('[src] started\n')
  })
})
