import { execFile } from 'node:child_process'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { createProject, flavor, kiln, result, startKiln, unique } from './helpers.js'

const run = promisify(execFile)
const projects: string[] = []

async function project(nodes: string): Promise<string> {
  const dir = await createProject(`plugins: ["@kiln/plugin-deploy"]\nnodes:\n${nodes}`)
  projects.push(dir)
  await mkdir(join(dir, 'out'))
  await writeFile(join(dir, 'out', 'old.txt'), 'the previous deploy\n')
  return dir
}

/** Every file under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort()
}

/** Temporary siblings the receiver writes into before the rename. */
async function leftovers(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.includes('.kiln-'))
}

const build = (stamp: string, extra = '') => `  build:
    type: run
    from: busybox:latest
    script: mkdir -p /out/sub && echo ${stamp} > /out/a.txt && echo b > /out/sub/b.txt${extra}
    outputs: { files: /out }
`

afterAll(async () => {
  for (const dir of projects) await rm(dir, { recursive: true, force: true })
})

describe(`deploy.export on ${flavor}`, () => {
  it('replaces a directory as a whole, and writes a tarball of a selected path, leaving no temporary siblings', async () => {
    const stamp = unique()
    const dir = await project(`${build(stamp)}  files:
    type: deploy.export
    from: build.files
    to: { local: out }
  bundle:
    type: deploy.export
    from: build
    path: /out/sub
    to: { tar: dist/sub.tar }
`)
    const outcome = await kiln(dir)
    expect(outcome.code, outcome.stderr).toBe(0)
    expect(result(outcome, 'files').status).toBe('ok')
    expect(await tree(join(dir, 'out'))).toEqual(['a.txt', 'sub/b.txt'])
    expect(await readFile(join(dir, 'out', 'a.txt'), 'utf8')).toBe(`${stamp}\n`)
    const { stdout } = await run('tar', ['-tf', join(dir, 'dist', 'sub.tar')])
    expect(stdout.split('\n').filter((line) => line !== '' && !line.endsWith('/')).map((line) => line.replace(/^\.\//, ''))).toEqual(['b.txt'])
    expect(await leftovers(dir)).toEqual([])
    expect(await leftovers(join(dir, 'dist'))).toEqual([])
  })

  it('leaves the previous export untouched when the run fails before it, or when the export is cancelled mid-transfer', async () => {
    const failing = await project(`${build(unique(), ' && exit 3')}  files:
    type: deploy.export
    from: build.files
    to: { local: out }
`)
    const outcome = await kiln(failing)
    expect(outcome.code).not.toBe(0)
    expect(result(outcome, 'build').status).toBe('failed')
    expect(result(outcome, 'files').status).toBe('skipped')
    expect(await tree(join(failing, 'out'))).toEqual(['old.txt'])
    expect(await leftovers(failing)).toEqual([])

    // A big file keeps the transfer busy long enough to interrupt it once the temporary sibling exists.
    const big = await project(`${build(unique(), ' && head -c 1073741824 /dev/zero > /out/big')}  files:
    type: deploy.export
    from: build.files
    to: { local: out }
`)
    const started = startKiln(big)
    let seen = false
    const deadline = Date.now() + 120_000
    while (!seen && Date.now() < deadline && started.child.exitCode === null) {
      seen = (await leftovers(big)).length > 0
      if (!seen) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(seen).toBe(true)
    started.child.kill('SIGINT')
    const interrupted = await started.done
    expect(interrupted.code).not.toBe(0)
    expect(result(interrupted, 'files').status).not.toBe('ok')
    expect(await tree(join(big, 'out'))).toEqual(['old.txt'])
    expect(await readFile(join(big, 'out', 'old.txt'), 'utf8')).toBe('the previous deploy\n')
    expect(await leftovers(big)).toEqual([])
  })
})
