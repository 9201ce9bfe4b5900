import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { decode, encode } from './codec.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const digestOf = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`
const ascii = (text: string) => Buffer.from(text, 'ascii').toString('hex')

// buildkit-wire.md Appendix B.
const IMAGE = '1a310a2f646f636b65722d696d6167653a2f2f646f636b65722e696f2f6c6962726172792f62757379626f783a6c6174657374520e0a05616d64363412056c696e75785a00'
const IMAGE_DIGEST = 'sha256:08a03f3ffe5fba421a6403c31e153425ced631d108868f30e04985f99d69326e'
const TERMINAL_DIGEST = 'sha256:371f2d730039d0945bd4f904dd53399ef581413f96ce9e5360f3bbf39da51b4f'
const LOCAL = '1a450a0f6c6f63616c3a2f2f636f6e74657874121e0a136c6f63616c2e7368617265646b657968696e741207636f6e7465787412120a0c6c6f63616c2e756e69717565120275315a00'
const LOCAL_DIGEST = 'sha256:2a0451a9596400538b941cebdf14401f61d1aba5ae02b0eb7f62ed2065c3880f'
const EXEC = `0a490a47${ascii(IMAGE_DIGEST)}` +
  '12420a240a072f62696e2f73680a022d630a076563686f2068691209504154483d2f62696e1a012f' +
  '12031a012f121308ffffffffffffffffff011a042f6f757420011802' +
  '520e0a05616d64363412056c696e75785a00'
const EXEC_DIGEST = 'sha256:f5b3d026fa4b06a2c10e7daed403ac1b862579e327c1763e651d49cdbd9ffcaf'

const platform = { Architecture: 'amd64', OS: 'linux' }

describe('pb codec: Appendix B vectors', () => {
  it('vector 1: image source', () => {
    const bytes = encode('Op', { source: { identifier: 'docker-image://docker.io/library/busybox:latest' }, platform, constraints: {} })
    expect(hex(bytes)).toBe(IMAGE)
    expect(digestOf(bytes)).toBe(IMAGE_DIGEST)
  })

  it('vector 2: terminal op, index 0 and index 1', () => {
    const bytes = encode('Op', { inputs: [{ digest: IMAGE_DIGEST, index: 0 }] })
    expect(hex(bytes)).toBe(`0a490a47${ascii(IMAGE_DIGEST)}`)
    expect(digestOf(bytes)).toBe(TERMINAL_DIGEST)
    const one = encode('Op', { inputs: [{ digest: IMAGE_DIGEST, index: 1 }] })
    expect(hex(one)).toBe(`0a4b0a47${ascii(IMAGE_DIGEST)}1001`)
  })

  it('vector 3: local source, attrs sorted by key whatever the object order', () => {
    const bytes = encode('Op', { source: { identifier: 'local://context', attrs: { 'local.unique': 'u1', 'local.sharedkeyhint': 'context' } }, constraints: {} })
    expect(hex(bytes)).toBe(LOCAL)
    expect(digestOf(bytes)).toBe(LOCAL_DIGEST)
  })

  it('vector 4: exec with a -1 input and NONE network', () => {
    const bytes = encode('Op', {
      inputs: [{ digest: IMAGE_DIGEST }],
      exec: {
        meta: { args: ['/bin/sh', '-c', 'echo hi'], env: ['PATH=/bin'], cwd: '/' },
        mounts: [{ input: 0, dest: '/', output: 0 }, { input: -1, dest: '/out', output: 1 }],
        network: 2,
      },
      platform,
      constraints: {},
    })
    expect(hex(bytes)).toBe(EXEC)
    expect(digestOf(bytes)).toBe(EXEC_DIGEST)
  })

  it('decodes what it encodes, including negative and 64-bit values', () => {
    const op = {
      file: { actions: [{ input: -1, secondaryInput: -1, output: 1, mkfile: { path: '/a', mode: 420, data: new Uint8Array([1, 2]), timestamp: 1_700_000_000_000_000_000n, owner: { user: { byID: 0 } } } }] },
      exec: { meta: { validExitCodes: [0, 3, -1] } },
    }
    const bytes = encode('Op', op)
    expect(decode('Op', bytes)).toEqual(op)
    expect(hex(encode('UserOpt', { byID: 0 }))).toBe('1000')
  })

  it('writes map entries with default values and packed repeated numerics', () => {
    expect(hex(encode('OpMetadata', { caps: { b: true, a: false } }))).toBe('2a050a016110002a050a0162' + '1001')
    expect(hex(encode('Meta', { validExitCodes: [1, 2] }))).toBe('62020102')
    expect(hex(encode('PassthroughOp', { outputs: [-1] }))).toBe('120affffffffffffffffff01')
  })

  it('writes long sub-messages and strings with multi-byte length prefixes', () => {
    const long = 'x'.repeat(300)
    const bytes = encode('Op', { source: { identifier: long } })
    expect(hex(bytes.subarray(0, 6))).toBe('1aaf020aac02')
    expect(decode('Op', bytes)).toEqual({ source: { identifier: long } })
  })
})
