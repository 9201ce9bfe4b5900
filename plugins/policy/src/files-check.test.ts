import { formatMessage } from '@kiln/core'
import type { ReportDescriptor } from '@kiln/core'
import { fakeFilesystem, fakeImage, NodeTypeTester } from '@kiln/core/testing'
import { describe, expect, it } from 'vitest'
import { fakeInspect } from './__fixtures__/inspect.js'
import type { Tree } from './__fixtures__/inspect.js'
import { filesCheck, inspectFiles } from './index.js'
import type { FilesRules } from './index.js'

const tester = new NodeTypeTester(filesCheck)
const messages = filesCheck.meta?.messages ?? {}
const text = (reports: readonly ReportDescriptor[]) => reports.map((report) => `${report.severity} ${formatMessage(messages[report.messageId] ?? '', report.data)}`)
const KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${'b3BlbnNzaC1rZXktdjEAAAAA'.repeat(3)}\n-----END OPENSSH PRIVATE KEY-----\n`
const rules = (overrides: Partial<FilesRules>): FilesRules => ({ from: 'build', path: '/', forbid: [], secretScan: false, exclude: [], maxFileSize: 1024 * 1024, severity: 'deny', ...overrides })

async function inspect(tree: Tree, overrides: Partial<FilesRules>) {
  const context = fakeInspect(tree)
  await inspectFiles(context, rules(overrides))
  return context
}

const tree: Tree = {
  'app/bin/tool': 'ELF...',
  'app/config/prod.env': 'PORT=8080\n',
  'app/certs/server.pem': 'cert',
  'app/.git/HEAD': 'ref: refs/heads/main\n',
  'root/.ssh/id_ed25519': KEY,
  'etc/passwd': 'root:x:0:0::/root:/bin/sh\n',
  'etc/ssl/link.pem': { symlink: '/app/certs/server.pem' },
}

describe('policy.files config', () => {
  it('accepts a check with forbid or secretScan, with defaults', () => {
    expect(tester.parse({ from: 'build.bin', forbid: ['*.pem'] })).toMatchObject({ path: '/', forbid: ['*.pem'], secretScan: false, exclude: [], maxFileSize: 16 * 1024 * 1024, severity: 'deny' })
    expect(tester.references({ from: 'build.bin', secretScan: true })).toEqual([{ path: ['from'], node: 'build', output: 'bin', accepts: ['filesystem'] }])
    expect(tester.outputs({ from: 'build', secretScan: true })).toEqual({})
  })

  it('rejects a check with no rule, invalid globs, a relative path and a non-positive size', () => {
    const messagesOf = (config: unknown) => tester.errors(config, 'files').map((error) => error.message)
    expect(messagesOf({ from: 'a' })).toEqual(['Node "files" has invalid config at forbid: expected at least one rule (forbid: [globs] or secretScan: true), received nothing (the field is missing)'])
    expect(messagesOf({ from: 'a', forbid: [''] })).toEqual(['Node "files" has invalid config at forbid[0]: expected a non-empty glob (*, **, ?, [abc], {a,b}), received ""'])
    expect(messagesOf({ from: 'a', forbid: ['{a,b'] })).toEqual(['Node "files" has invalid config at forbid[0]: expected a non-empty glob (*, **, ?, [abc], {a,b}), received "{a,b"'])
    expect(messagesOf({ from: 'a', secretScan: true, path: 'app' })).toEqual(['Node "files" has invalid config at path: expected an absolute path (starting with /), received "app"'])
    expect(messagesOf({ from: 'a', secretScan: true, maxFileSize: 0 })).toEqual(['Node "files" has invalid config at maxFileSize: expected a number > 0, received number 0'])
    expect(messagesOf({ from: 'a', secretScan: true, secretscan: true })).toEqual(['Node "files" has invalid config at secretscan: expected a known field, received unknown field "secretscan"'])
  })
})

describe('policy.files compile', () => {
  it('declares one check target on the input (a filesystem or an image), and no outputs', async () => {
    const input = fakeFilesystem('bin')
    const result = await tester.compile({ from: 'build.bin', path: '/app', forbid: ['*.pem', '.git'], secretScan: true }, { nodeId: 'files', inputs: { 'build.bin': input } })
    expect(result.phase).toBe('check')
    expect(result.outputs).toEqual({})
    expect(result.targets).toHaveLength(1)
    expect(result.targets[0]).toMatchObject({ kind: 'check', description: 'check files of build.bin under /app: forbid *.pem, .git; secret scan' })
    expect(result.targets[0]?.state).toBe(input.state)
    const fromImage = await tester.compile({ from: 'img', secretScan: true }, { inputs: { img: fakeImage('img') } })
    expect(fromImage.targets[0]?.description).toBe('check files of img under /: secret scan')
  })

  it("runs the target's inspect over the solved files", async () => {
    const result = await tester.compile({ from: 'build', path: '/app', forbid: ['*.pem'], severity: 'warn' }, { inputs: { build: fakeFilesystem('build') } })
    const context = fakeInspect(tree)
    await result.targets[0]?.inspect?.(context)
    expect(text(context.reports)).toEqual(['warn File /app/certs/server.pem in build matches forbidden pattern *.pem'])
  })
})

describe('inspectFiles forbid', () => {
  it('reports files, directories and symlinks matching a glob, in path order, without descending into a forbidden directory', async () => {
    const context = await inspect(tree, { forbid: ['*.pem', '.git', '**/.ssh/**', 'etc/shadow'] })
    expect(text(context.reports)).toEqual([
      'deny Directory /app/.git in build matches forbidden pattern .git',
      'deny File /app/certs/server.pem in build matches forbidden pattern *.pem',
      'deny Symlink /etc/ssl/link.pem in build matches forbidden pattern *.pem',
      'deny File /root/.ssh/id_ed25519 in build matches forbidden pattern **/.ssh/**',
    ])
    expect(context.reads).not.toContain('dir /app/.git')
    expect(context.reads.filter((read) => read.startsWith('file'))).toEqual([])
    expect(context.reports[0]).toEqual({ messageId: 'forbidden', data: { rule: 'forbid', from: 'build', kind: 'Directory', path: '/app/.git', pattern: '.git' }, severity: 'deny' })
  })

  it('passes a clean tree, scans only under path, and skips excluded paths', async () => {
    expect((await inspect(tree, { forbid: ['*.key', 'etc/shadow'] })).reports).toEqual([])
    const scoped = await inspect(tree, { path: '/app', forbid: ['*.pem', 'bin/tool'] })
    expect(text(scoped.reports)).toEqual(['deny File /app/bin/tool in build matches forbidden pattern bin/tool', 'deny File /app/certs/server.pem in build matches forbidden pattern *.pem'])
    expect(scoped.reads.every((read) => read.startsWith('dir /app'))).toBe(true)
    const excluded = await inspect(tree, { forbid: ['*.pem'], exclude: ['app/certs', 'etc'] })
    expect(excluded.reports).toEqual([])
    expect(excluded.reads).not.toContain('dir /app/certs')
  })

  it('fails with the engine error when the scanned path does not exist', async () => {
    await expect(inspect(tree, { path: '/nope', forbid: ['*'] })).rejects.toThrow('readdir /nope: no such file or directory')
  })
})

describe('inspectFiles secretScan', () => {
  it('reports the file, the kind of secret and the line, never the secret', async () => {
    const context = await inspect({ ...tree, 'app/config/prod.env': `PORT=8080\nAWS_ACCESS_KEY_ID=${'AKIA' + 'IOSFODNN7EXAMPLE'}\n` }, { secretScan: true })
    expect(text(context.reports)).toEqual([
      'deny /app/config/prod.env in build contains an AWS access key id (line 2): expected no secrets in produced files',
      'deny /root/.ssh/id_ed25519 in build contains a PEM private key (line 1): expected no secrets in produced files',
    ])
    expect(context.reports[1]).toEqual({ messageId: 'secret', data: { rule: 'secretScan', from: 'build', path: '/root/.ssh/id_ed25519', secret: 'a PEM private key', shape: 'private-key', line: 1 }, severity: 'deny' })
    expect(JSON.stringify(context.reports)).not.toContain('AKIA')
    expect(JSON.stringify(context.reports)).not.toContain('b3BlbnNzaC1rZXktdjEA')
  })

  it('reads regular files only, up to maxFileSize, and combines with forbid (a forbidden file is not also scanned)', async () => {
    const context = await inspect({ ...tree, 'app/big.bin': `${'x'.repeat(100)}${KEY}` }, { secretScan: true, forbid: ['.ssh'], maxFileSize: 100 })
    expect(text(context.reports)).toEqual(['deny Directory /root/.ssh in build matches forbidden pattern .ssh'])
    expect(context.reads).not.toContain('file /app/big.bin')
    expect(context.reads).not.toContain('file /etc/ssl/link.pem')
    expect(context.reads).toContain('file /app/bin/tool')
  })

  it('passes a tree without secrets', async () => {
    const { ['root/.ssh/id_ed25519']: _key, ...clean } = tree
    expect((await inspect(clean, { secretScan: true })).reports).toEqual([])
  })
})
