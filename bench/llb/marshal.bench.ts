/**
 * Marshal benchmark for @kiln/llb: builds chains, wide fan-outs and layered DAGs of 1k and 10k nodes, marshals
 * them, and prints time (construction, marshal, total; wall and CPU) and memory (heap growth, peak RSS). Run:
 *
 *   pnpm --filter @kiln/llb bench
 *
 * which builds the package and runs this file with `node --expose-gc --import tsx`, measuring the compiled
 * dist/ (what users run), not the TypeScript sources. Figures are medians of RUNS runs after one warm-up.
 */
import { cpuUsage } from 'node:process'
import { performance } from 'node:perf_hooks'
import { shapes } from './shapes.js'

const RUNS = Number(process.env.RUNS ?? 7)
const gc = (globalThis as { gc?: () => void }).gc

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)

const rows: string[] = []
for (const [name, shape] of Object.entries(shapes)) {
  for (const size of [1_000, 10_000]) {
    const build: number[] = []
    const marshal: number[] = []
    const cpu: number[] = []
    const heap: number[] = []
    let rssPeak = 0
    let ops = 0
    let bytes = 0
    for (let run = 0; run < RUNS + 1; run++) {
      gc?.()
      const heapBefore = process.memoryUsage().heapUsed
      const c0 = cpuUsage()
      const t0 = performance.now()
      const state = shape(size)
      const t1 = performance.now()
      const definition = state.marshal({ platform: 'linux/amd64', maxBytes: Number.MAX_SAFE_INTEGER })
      const t2 = performance.now()
      const used = cpuUsage(c0)
      const memory = process.memoryUsage()
      rssPeak = Math.max(rssPeak, memory.rss)
      if (run === 0) continue // warm-up
      build.push(t1 - t0)
      marshal.push(t2 - t1)
      cpu.push((used.user + used.system) / 1000)
      heap.push(memory.heapUsed - heapBefore)
      ops = definition.ops.size
      bytes = definition.bytes.length
    }
    const total = median(build.map((value, i) => value + (marshal[i] as number)))
    rows.push(`| ${name} | ${size} | ${ops} | ${mib(bytes)} | ${median(build).toFixed(1)} | ${median(marshal).toFixed(1)} | ${total.toFixed(1)} | ${median(cpu).toFixed(1)} | ${mib(median(heap))} | ${mib(rssPeak)} |`)
  }
}

/** A fixed CPU-bound loop, to tell a loaded machine from a slow emitter (about 10 ms on an idle modern core). */
function calibrate(): number {
  const t0 = performance.now()
  let x = 0
  for (let i = 0; i < 1e7; i++) x += i % 7
  if (x < 0) console.log(x)
  return performance.now() - t0
}

const calibration = median([calibrate(), calibrate(), calibrate()])
const os = await import('node:os')
console.log(`node ${process.version}, ${RUNS} runs (median), gc ${gc ? 'on' : 'off (run with --expose-gc)'}, load average ${os.loadavg().map((n) => n.toFixed(1)).join(' ')}, calibration loop ${calibration.toFixed(1)} ms\n`)
console.log('| shape | nodes | ops emitted | definition MiB | build ms | marshal ms | total ms | total CPU ms | heap growth MiB | peak RSS MiB |')
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
for (const row of rows) console.log(row)
