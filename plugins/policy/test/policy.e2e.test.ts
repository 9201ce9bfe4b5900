import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { kiln, writeProject } from './helpers.js'

const projects: string[] = []
afterAll(async () => {
  for (const dir of projects) await rm(dir, { recursive: true, force: true })
})

async function project(yaml: string): Promise<string> {
  const dir = await writeProject({ 'kiln.yaml': yaml })
  projects.push(dir)
  return dir
}

const KEY = ['-----BEGIN OPENSSH', ' PRIVATE KEY-----\\n', 'b3BlbnNzaC1rZXktdjEAAAAA'.repeat(3), '\\n-----END OPENSSH PRIVATE KEY-----'].join('')

describe('policy on the real engine', () => {
  it('a denied plan runs nothing: kiln plan shows the finding, kiln run exports nothing', async () => {
    const dir = await project(`plugins:
  - "@kiln/plugin-deploy"
  - name: "@kiln/plugin-policy"
    options: { rules: { network.host: deny } }
nodes:
  base: { type: image, ref: "busybox:latest" }
  build: { type: run, from: base, network: host, script: "mkdir -p /out && echo hi > /out/hello", outputs: { out: /out } }
  ship: { type: deploy.export, from: build.out, to: { local: ./dist } }
`)
    const plan = await kiln(dir, ['plan'])
    expect(plan.output).toContain('network.host')
    expect(plan.output).toContain('build')
    const run = await kiln(dir, ['run'])
    expect(run.code, run.output).not.toBe(0)
    expect(run.output).toContain('network.host')
    expect(existsSync(join(dir, 'dist'))).toBe(false)
  })

  it('a failing content check stops the publish: a private key in the output fails policy.files', async () => {
    const dir = await project(`plugins: ["@kiln/plugin-deploy", "@kiln/plugin-policy"]
nodes:
  base: { type: image, ref: "busybox:latest" }
  build: { type: run, from: base, script: "mkdir -p /out && printf '${KEY}\\\\n' > /out/id_ed25519 && echo ok > /out/app", outputs: { out: /out } }
  no-secrets: { type: policy.files, from: build.out, secretScan: true }
  ship: { type: deploy.export, from: build.out, to: { local: ./dist }, after: [no-secrets] }
`)
    const run = await kiln(dir, ['run'])
    expect(run.code, run.output).not.toBe(0)
    expect(run.output).toContain('/id_ed25519 in build.out contains a PEM private key (line 1)')
    expect(run.output).not.toContain('b3BlbnNzaC1rZXktdjEA')
    expect(existsSync(join(dir, 'dist'))).toBe(false)
  })

  it('policy.image fails a root image; a passing policy.files check lets the publish run', async () => {
    const dir = await project(`plugins: ["@kiln/plugin-deploy", "@kiln/plugin-policy"]
nodes:
  base: { type: image, ref: "busybox:latest" }
  root-check: { type: policy.image, image: base, rules: { nonRoot: true } }
`)
    const failed = await kiln(dir, ['run'])
    expect(failed.code, failed.output).not.toBe(0)
    expect(failed.output).toContain('Image base runs as root')

    const ok = await project(`plugins: ["@kiln/plugin-deploy", "@kiln/plugin-policy"]
nodes:
  base: { type: image, ref: "busybox:latest" }
  build: { type: run, from: base, script: "mkdir -p /out && echo ok > /out/app", outputs: { out: /out } }
  files: { type: policy.files, from: build.out, forbid: ["*.pem"], secretScan: true }
  ship: { type: deploy.export, from: build.out, to: { local: ./dist }, after: [files] }
`)
    const passed = await kiln(ok, ['run'])
    expect(passed.code, passed.output).toBe(0)
    expect(existsSync(join(ok, 'dist/app'))).toBe(true)
  })
})
