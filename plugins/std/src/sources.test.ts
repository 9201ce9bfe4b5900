import { isCoreError } from '@kiln/core'
import { NodeTypeTester } from '@kiln/core/testing'
import { describe, expect, it } from 'vitest'
import { marshal, resultOp } from './__fixtures__/llb.js'
import { gitType, httpType } from './sources.js'

describe('git', () => {
  const tester = new NodeTypeTester(gitType)

  it('validates its config', () => {
    expect(tester.errors({ url: 'https://example.com/repo.git' })).toEqual([])
    expect(tester.errors({ ref: 3, authTokenSecret: 'not a name' }).map((error) => [error.path, error.message])).toEqual([
      [['url'], 'Node "node" has invalid config at url: expected string, received nothing (the field is missing)'],
      [['ref'], 'Node "node" has invalid config at ref: expected string, received number 3'],
      [['authTokenSecret'], 'Node "node" has invalid config at authTokenSecret: expected a string matching /^[A-Za-z_][A-Za-z0-9_-]*$/, received "not a name"'],
    ])
  })

  it('is a git source at a ref, and declares no target without auth', async () => {
    const { outputs, targets } = await tester.compile({ url: 'https://example.com/org/repo.git', ref: 'v1.2.3', keepGitDir: true })
    expect(targets).toEqual([])
    const source = resultOp(marshal(outputs.default.state))
    expect(source.op.source).toEqual({
      identifier: 'git://example.com/org/repo.git#v1.2.3',
      attrs: { 'git.fullurl': 'https://example.com/org/repo.git', 'git.keepgitdir': 'true', 'git.authtokensecret': 'GIT_AUTH_TOKEN', 'git.authheadersecret': 'GIT_AUTH_HEADER' },
    })
    expect(source.digest).toBe('sha256:0484e580a0e8565ca9203497bbb065dfe0c235277c475a6de98bbbf660a11580')
  })

  it('names its auth secret (never its value) and shows it in the plan', async () => {
    const { outputs, targets } = await tester.compile({ url: 'https://example.com/private.git', authTokenSecret: 'gitToken' }, { nodeId: 'repo', secrets: ['gitToken'] })
    const source = resultOp(marshal(outputs.default.state))
    expect(source.op.source?.attrs?.['git.authtokensecret']).toBe('gitToken')
    expect(targets).toEqual([{ kind: 'build', state: outputs.default.state, secrets: ['gitToken'], description: 'git https://example.com/private.git (auth: secret gitToken)' }])
    expect(tester.references({ url: 'https://example.com/private.git', authTokenSecret: 'gitToken' })).toEqual([])
  })

  it('refuses an undeclared secret', async () => {
    const error = await tester.compile({ url: 'https://example.com/private.git', authTokenSecret: 'other' }, { secrets: ['gitToken'] }).catch((caught: unknown) => caught)
    expect(isCoreError((error as Error).cause, 'GRAPH_UNKNOWN_SECRET')).toBe(true)
  })
})

describe('http', () => {
  const tester = new NodeTypeTester(httpType)
  const checksum = `sha256:${'ab'.repeat(32)}`

  it('validates its config', () => {
    expect(tester.errors({ url: 'https://example.com/tool', checksum, filename: 'tool', chmod: '0755' })).toEqual([])
    expect(tester.errors({ url: 'ftp://example.com/x', checksum: 'md5:1', filename: 'a/b', chmod: 755 }).map((error) => [error.path, error.message])).toEqual([
      [['url'], 'Node "node" has invalid config at url: expected a string matching /^https?:\\/\\//, received "ftp://example.com/x"'],
      [['checksum'], 'Node "node" has invalid config at checksum: expected a string matching /^sha256:[a-f0-9]{64}$/, received "md5:1"'],
      [['filename'], 'Node "node" has invalid config at filename: expected a file name without "/", received "a/b"'],
      [['chmod'], 'Node "node" has invalid config at chmod: expected string, received number 755'],
    ])
  })

  it('is an http source with checksum, file name and permissions', async () => {
    const { outputs } = await tester.compile({ url: 'https://example.com/tool', checksum, filename: 'tool', chmod: '0755' })
    const source = resultOp(marshal(outputs.default.state))
    expect(source.op.source).toEqual({ identifier: 'https://example.com/tool', attrs: { 'http.checksum': checksum, 'http.filename': 'tool', 'http.perm': '0755' } })
    expect(Object.keys(source.metadata.caps ?? {}).sort()).toEqual(['source.http', 'source.http.checksum', 'source.http.perm'])
  })
})
