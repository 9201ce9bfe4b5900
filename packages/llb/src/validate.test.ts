import { describe, expect, it } from 'vitest'
import { DOCKERD_20_10, digestOf, encode, image, isLlbError, local, scratch, mkfile, validateDefinition, type LlbErrorCode, type PbOp } from './index.js'

const amd64 = { platform: 'linux/amd64' } as const
const source = (identifier: string): Uint8Array => encode('Op', { source: { identifier }, constraints: {} })
const op = (value: PbOp): Uint8Array => encode('Op', value)
const definition = (ops: Uint8Array[], metadata: Record<string, unknown> = {}): Uint8Array => encode('Definition', { def: ops, metadata })

function rejects(bytes: Uint8Array, pattern: RegExp, code: LlbErrorCode = 'LLB_INVALID_DEFINITION'): void {
  try {
    validateDefinition(bytes)
  } catch (error) {
    expect(isLlbError(error, code)).toBe(true)
    expect((error as Error).message).toMatch(pattern)
    return
  }
  throw new Error('expected validateDefinition to throw')
}

describe('validateDefinition', () => {
  it('accepts what marshal builds and reports the result', () => {
    const built = image('busybox').run({ args: ['true'], mounts: [{ type: 'bind', dest: '/out' }] }).getMount('/out').marshal(amd64)
    const checked = validateDefinition(built.bytes)
    expect(checked.terminal).toBe(built.terminal)
    expect(checked.result).toEqual({ digest: built.digest, index: 1 })
    expect(checked.ops.map((entry) => entry.digest)).toEqual([...built.ops.keys()])
  })

  it('accepts an empty Definition', () => {
    expect(validateDefinition(new Uint8Array()).terminal).toBeUndefined()
  })

  it('rejects the dangling input that crashes dockerd 26.1 (wire doc 13.1)', () => {
    const missing = digestOf(source('docker-image://docker.io/library/busybox:latest'))
    const t1 = op({ inputs: [{ digest: missing }], exec: { meta: { args: ['true'] }, mounts: [{ dest: '/' }] }, constraints: {} })
    const t2 = op({ inputs: [{ digest: digestOf(t1) }] })
    rejects(definition([t1, t2]), new RegExp(`names ${missing}, which is not in the definition`))
  })

  it('rejects a dangling input even in an op the result does not reach', () => {
    const a = source('local://a')
    const orphan = op({ inputs: [{ digest: `sha256:${'0'.repeat(64)}` }], file: { actions: [{ input: 0, secondaryInput: -1, rm: { path: '/x' } }] } })
    rejects(definition([a, orphan, op({ inputs: [{ digest: digestOf(a) }] })]), /not in the definition/)
  })

  it('rejects a terminal op that is not last, a lone op, and an out-of-range output index', () => {
    const a = source('local://a')
    const terminal = op({ inputs: [{ digest: digestOf(a) }] })
    rejects(definition([terminal, a]), /last op to be the terminal op with an input/)
    rejects(definition([a]), /terminal op with an input|at least two/)
    rejects(definition([a, a]), /at least two distinct ops/)
    rejects(definition([a, op({ inputs: [{ digest: digestOf(a), index: 1 }] })]), /reads output 1 .* which has 1/)
  })

  it('rejects exec ops without args or root mount, and file actions pointing forward', () => {
    const a = source('local://a')
    const t = (bytes: Uint8Array) => definition([a, bytes, op({ inputs: [{ digest: digestOf(bytes) }] })])
    rejects(t(op({ inputs: [{ digest: digestOf(a) }], exec: { meta: { args: [] }, mounts: [{ dest: '/' }] } })), /has no args/)
    rejects(t(op({ inputs: [{ digest: digestOf(a) }], exec: { meta: { args: ['x'] }, mounts: [{ dest: '/x' }] } })), /exactly one root mount/)
    rejects(t(op({ file: { actions: [{ input: 1, secondaryInput: -1, output: 0, mkdir: { path: '/a' } }] } })), /refers to index 1; allowed -1..-1|refers to index 1/)
  })

  it('rejects bytes that are not a Definition', () => {
    rejects(Uint8Array.from([0x0a, 0x05, 0x01]), /Expected pb.Definition bytes/)
  })

  it('checks caps against the engine when given', () => {
    const bytes = local('a', { differ: 'none', uniqueId: 'u' }).marshal(amd64).bytes
    expect(() => validateDefinition(bytes, DOCKERD_20_10)).toThrow(/source.local.differ/)
    try {
      validateDefinition(bytes, DOCKERD_20_10)
    } catch (error) {
      expect(isLlbError(error, 'LLB_UNSUPPORTED_CAP')).toBe(true)
    }
  })

  it('enforces the size limit', () => {
    const bytes = scratch().file(mkfile('/a', 'x'.repeat(300))).marshal(amd64).bytes
    expect(() => validateDefinition(bytes, { maxBytes: 100 })).toThrow(expect.objectContaining({ code: 'LLB_DEFINITION_TOO_LARGE', limit: 100, size: bytes.length }))
    expect(validateDefinition(bytes, { maxBytes: bytes.length }).ops).toHaveLength(2)
  })
})
