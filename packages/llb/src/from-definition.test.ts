import { describe, expect, it } from 'vitest'
import { decodeDefinition, dumpJson } from './dump.js'
import { isLlbError } from './errors.js'
import { mkfile } from './file.js'
import { fromDefinition } from './from-definition.js'
import { encode } from './pb/codec.js'
import { MountType } from './pb/types.js'
import { image, local } from './sources.js'

const platform = 'linux/amd64'

function sample() {
  const base = image('busybox:latest')
  return base
    .run({ args: ['/bin/sh', '-c', 'cat /run/secrets/token > /dev/null; echo hi > /out/hi'], network: 'none', mounts: [{ type: 'bind', dest: '/out' }, { type: 'secret', id: 'token', dest: '/run/secrets/token' }, { type: 'bind', dest: '/src', from: local('ctx', { uniqueId: 'u1' }), readonly: true }] })
    .getMount('/out')
}

describe('fromDefinition', () => {
  it('replays a definition byte for byte', () => {
    const definition = sample().marshal({ platform })
    const replayed = fromDefinition(definition.bytes).marshal({ platform })
    expect(Buffer.from(replayed.bytes).equals(Buffer.from(definition.bytes))).toBe(true)
    expect(replayed.digest).toBe(definition.digest)
  })

  it('is a state later ops build on: the replayed ops keep their digests', () => {
    const definition = sample().marshal({ platform })
    const extended = fromDefinition(definition.bytes).file(mkfile('/extra', 'x')).marshal({ platform })
    const before = new Set(decodeDefinition(definition.bytes).ops.slice(0, -1).map((op) => op.digest))
    const after = new Set(decodeDefinition(extended.bytes).ops.map((op) => op.digest))
    for (const digest of before) expect(after.has(digest)).toBe(true)
    expect(dumpJson(extended.bytes)).toContain('"mkfile"')
  })

  it('rewrites ops through mapOp, leaving the others unchanged', () => {
    const definition = sample().marshal({ platform })
    const renamed = fromDefinition(definition.bytes, {
      mapOp: (op) => (op.exec ? { ...op, exec: { ...op.exec, mounts: (op.exec.mounts ?? []).map((mount) => (mount.mountType === MountType.SECRET ? { ...mount, secretOpt: { ...mount.secretOpt, ID: 'api_token' } } : mount)) } } : op),
    }).marshal({ platform })
    const ops = decodeDefinition(renamed.bytes).ops
    const secret = ops.flatMap((entry) => entry.op.exec?.mounts ?? []).find((mount) => mount.mountType === MountType.SECRET)
    expect(secret?.secretOpt?.ID).toBe('api_token')
    const image = ops.find((entry) => entry.op.source?.identifier?.startsWith('docker-image://'))
    expect(decodeDefinition(definition.bytes).ops.map((entry) => entry.digest)).toContain(image?.digest)
  })

  it('refuses an op it cannot re-encode unchanged, and an op that reads a later one', () => {
    const definition = sample().marshal({ platform })
    const ops = decodeDefinition(definition.bytes).ops
    // An unknown field (number 99, varint 1) appended to the first op: decodable, but not re-encodable as sent.
    const withUnknown = Buffer.concat([Buffer.from(ops[0]!.bytes), Buffer.from([0x98, 0x06, 0x01])])
    const tampered = encode('Definition', { def: [withUnknown, ...ops.slice(1).map((op) => op.bytes)] })
    expect(() => fromDefinition(tampered)).toThrow(expect.objectContaining({ code: 'LLB_INVALID_DEFINITION' }))
    const reversed = encode('Definition', { def: [...ops.slice(0, -1).reverse().map((op) => op.bytes), ops.at(-1)!.bytes] })
    let error: unknown
    try {
      fromDefinition(reversed)
    } catch (caught) {
      error = caught
    }
    expect(isLlbError(error, 'LLB_INVALID_DEFINITION')).toBe(true)
    expect((error as Error).message).toMatch(/expected an op listed before it/)
  })

  it('an empty definition is scratch', () => {
    expect(fromDefinition(encode('Definition', {})).isScratch()).toBe(true)
  })
})
