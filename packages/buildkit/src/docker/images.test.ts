import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { jsonMessages } from './api.js'
import { credentialsFromSecret, encodeRegistryAuth, parseImageName } from './images.js'

describe('parseImageName', () => {
  it.each([
    ['127.0.0.1:5000/app:1.0', { registry: '127.0.0.1:5000', repository: '127.0.0.1:5000/app', tag: '1.0' }],
    ['localhost/team/app', { registry: 'localhost', repository: 'localhost/team/app' }],
    ['busybox:latest', { registry: 'docker.io', repository: 'busybox', tag: 'latest' }],
    ['team/app', { registry: 'docker.io', repository: 'team/app' }],
    [`registry.example/app@sha256:${'a'.repeat(64)}`, { registry: 'registry.example', repository: 'registry.example/app', digest: `sha256:${'a'.repeat(64)}` }],
  ])('%s', (reference, expected) => {
    expect(parseImageName(reference)).toEqual(expected)
  })

  it.each(['127.0.0.1:5000/App:1', 'app:bad tag', 'app@sha256:short', 'host:port/app'])('rejects %s', (reference) => {
    expect(() => parseImageName(reference)).toThrow(/Invalid image name/)
  })
})

describe('registry credentials', () => {
  it('reads user:password and bare tokens from a secret', () => {
    expect(credentialsFromSecret('ci:p:ss\n')).toEqual({ username: 'ci', password: 'p:ss' })
    expect(credentialsFromSecret(new TextEncoder().encode('tok3n'))).toEqual({ registryToken: 'tok3n' })
    expect(() => credentialsFromSecret(' \n')).toThrow(/empty/)
  })

  it('encodes X-Registry-Auth as padded base64url JSON', () => {
    const decode = (value: string) => JSON.parse(Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString()) as unknown
    expect(decode(encodeRegistryAuth(undefined))).toEqual({})
    expect(encodeRegistryAuth(undefined)).toBe('e30=')
    expect(decode(encodeRegistryAuth({ username: 'u', password: 'p?>' }, 'r:5000'))).toEqual({ username: 'u', password: 'p?>', serveraddress: 'r:5000' })
    expect(decode(encodeRegistryAuth({ registryToken: 't' }))).toEqual({ registrytoken: 't' })
    expect(decode(encodeRegistryAuth({ identityToken: 'i' }))).toEqual({ identitytoken: 'i' })
    expect(encodeRegistryAuth({ username: 'u', password: '???>>>' })).not.toMatch(/[+/]/)
  })
})

describe('jsonMessages', () => {
  it('splits a JSON message stream at newlines, across chunk boundaries', async () => {
    const chunks = ['{"status":"Pushing","id":"a"}\r\n{"aux":{"Tag":"1","Dig', 'est":"sha256:x","Size":5}}\r\n', '{"error":"boom","errorDetail":{"message":"boom"}}']
    const messages: unknown[] = []
    for await (const message of jsonMessages(Readable.from(chunks))) messages.push(message)
    expect(messages).toEqual([{ status: 'Pushing', id: 'a' }, { aux: { Tag: '1', Digest: 'sha256:x', Size: 5 } }, { error: 'boom', errorDetail: { message: 'boom' } }])
  })
})
