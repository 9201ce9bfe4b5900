import { describe, expect, it } from 'vitest'
import { checkDefinition, definitionDigests } from './definition.js'

// Wire doc Appendix B: vector 1 (image source) and the digest the engine reported for it.
const IMAGE_OP = Buffer.from(
  '1a310a2f646f636b65722d696d6167653a2f2f646f636b65722e696f2f6c6962726172792f62757379626f783a6c6174657374520e0a05616d64363412056c696e75785a00',
  'hex',
)
const IMAGE_DIGEST = 'sha256:08a03f3ffe5fba421a6403c31e153425ced631d108868f30e04985f99d69326e'

function field(number: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([number * 8 + 2, bytes.length]), bytes])
}

const terminal = (digest: string): Buffer => field(1, field(1, Buffer.from(digest)))
const definition = (...ops: Uint8Array[]): Buffer => Buffer.concat(ops.map((op) => field(1, op)))

describe('checkDefinition', () => {
  it('computes op digests as sha256 of the op bytes (Appendix B vectors 1 and 2)', () => {
    expect(definitionDigests(definition(IMAGE_OP, terminal(IMAGE_DIGEST)))).toEqual([
      IMAGE_DIGEST,
      'sha256:371f2d730039d0945bd4f904dd53399ef581413f96ce9e5360f3bbf39da51b4f',
    ])
  })

  it('accepts a definition whose inputs all name ops, and an empty one', () => {
    expect(() => checkDefinition(definition(IMAGE_OP, terminal(IMAGE_DIGEST)))).not.toThrow()
    expect(() => checkDefinition(new Uint8Array())).not.toThrow()
  })

  it('refuses a dangling input digest', () => {
    const dangling = terminal('sha256:' + '0'.repeat(64))
    expect(() => checkDefinition(definition(IMAGE_OP, dangling))).toThrow(/not in the definition/)
    // The input of the terminal op points at an op that is missing.
    expect(() => checkDefinition(definition(terminal(IMAGE_DIGEST)))).toThrow(expect.objectContaining({ code: 'BUILDKIT_INVALID_DEFINITION' }))
  })

  it('refuses bytes that do not decode', () => {
    expect(() => checkDefinition(Buffer.from([0x0a, 0x05, 0x01]))).toThrow(/Refusing to send the Definition/)
  })
})

describe('BuildkitError', () => {
  it('is recognised by @kiln/core', async () => {
    const { isCoreError } = await import('@kiln/core')
    const { BuildkitError } = await import('./errors.js')
    const error = new BuildkitError('BUILDKIT_UNAVAILABLE', 'x', { address: 'docker:///x' })
    expect(isCoreError(error, 'BUILDKIT_UNAVAILABLE')).toBe(true)
    expect(error.toJSON()).toEqual({ name: 'BuildkitError', code: 'BUILDKIT_UNAVAILABLE', message: 'x', details: { address: 'docker:///x' } })
  })
})
