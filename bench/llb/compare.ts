/**
 * Paired comparison of two builds of @kiln/llb in one process, for a shared machine: runs are alternated (old, new,
 * new, old, …) so both see the same load, and the medians of wall and CPU time are printed per shape. Prepare the
 * old build as the README says (`git archive <rev> packages/llb bench/llb tsconfig.base.json | tar -x -C /tmp/old`,
 * a package.json with `"type": "module"` there, `tsc -p tsconfig.build.json` in /tmp/old/packages/llb), build this
 * one (`pnpm --filter @kiln/llb build`), then from packages/llb:
 *
 *   node --expose-gc --import tsx ../../bench/llb/compare.ts /tmp/old 9
 */
import { cpuUsage } from 'node:process'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { shapes as newShapes, type Shape } from './shapes.js'

const [oldRoot = '/tmp/old', runsText = '9', only] = process.argv.slice(2)
const runs = Number(runsText)
const { shapes: oldShapes } = (await import(pathToFileURL(`${oldRoot}/bench/llb/shapes.ts`).href)) as { shapes: Record<string, Shape> }
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('Run with node --expose-gc')
const median = (values: number[]) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)] as number

for (const name of only ? only.split(',') : Object.keys(newShapes)) {
  const results = { old: { total: [] as number[], build: [] as number[], marshal: [] as number[], cpu: [] as number[] }, new: { total: [] as number[], build: [] as number[], marshal: [] as number[], cpu: [] as number[] } }
  for (let run = 0; run <= runs; run++) {
    for (const side of run % 2 === 0 ? (['new', 'old'] as const) : (['old', 'new'] as const)) {
      const shape = (side === 'old' ? oldShapes : newShapes)[name] as Shape
      gc()
      const c0 = cpuUsage()
      const t0 = performance.now()
      const state = shape(10_000)
      const t1 = performance.now()
      state.marshal({ platform: 'linux/amd64', maxBytes: Number.MAX_SAFE_INTEGER })
      const t2 = performance.now()
      const cpu = cpuUsage(c0)
      if (run === 0) continue // warm-up
      results[side].total.push(t2 - t0)
      results[side].build.push(t1 - t0)
      results[side].marshal.push(t2 - t1)
      results[side].cpu.push((cpu.user + cpu.system) / 1000)
    }
  }
  for (const side of ['old', 'new'] as const) {
    const r = results[side]
    console.log(`${name.padEnd(8)} ${side}: total ${median(r.total).toFixed(1)} ms (build ${median(r.build).toFixed(1)}, marshal ${median(r.marshal).toFixed(1)}), CPU ${median(r.cpu).toFixed(1)} ms`)
  }
}
