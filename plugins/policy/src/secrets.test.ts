import { describe, expect, it } from 'vitest'
import { SECRET_SHAPES, scanForSecrets } from './index.js'

const encode = (text: string) => new TextEncoder().encode(text)
const ids = (text: string | Uint8Array) => scanForSecrets(typeof text === 'string' ? encode(text) : text).map((match) => match.shape.id)
// Built from parts so the source itself carries no secret-shaped literal.
const BODY = 'MIIEowIBAAKCAQEA' + 'x'.repeat(60)
const PEM = (label: string) => `-----BEGIN ${label}PRIVATE KEY-----\n${BODY}\n-----END ${label}PRIVATE KEY-----\n`

describe('scanForSecrets', () => {
  it('finds PEM private keys of every common label, with their line', () => {
    for (const label of ['', 'RSA ', 'EC ', 'OPENSSH ', 'ENCRYPTED ', 'DSA ']) expect(ids(PEM(label))).toEqual(['private-key'])
    expect(ids(`-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n${BODY}\n`)).toEqual(['private-key'])
    expect(scanForSecrets(encode(`config\nmore\n${PEM('')}`))[0]?.line).toBe(3)
  })

  it('ignores a bare PEM header (a string constant in ssh and openssl binaries) and certificates', () => {
    expect(ids('\u0000\u0001-----BEGIN OPENSSH PRIVATE KEY-----\u0000-----END OPENSSH PRIVATE KEY-----\u0000')).toEqual([])
    expect(ids(`-----BEGIN CERTIFICATE-----\n${BODY}\n-----END CERTIFICATE-----\n`)).toEqual([])
  })

  it('finds cloud, forge and registry tokens', () => {
    expect(ids(`aws_access_key_id = ${'AKIA' + 'IOSFODNN7EXAMPLE'}`)).toEqual(['aws-access-key-id'])
    expect(ids(`aws_secret_access_key = ${'wJalrXUtnFEMI/K7MDENG/' + 'bPxRfiCYEXAMPLEKEY'}`)).toEqual(['aws-secret-access-key'])
    expect(ids(`token: ${'ghp_' + 'a1B2'.repeat(9)}`)).toEqual(['github-token'])
    expect(ids(`${'glpat-' + 'x'.repeat(20)}`)).toEqual(['gitlab-token'])
    expect(ids(`${'xoxb-' + '123456789012-' + 'a'.repeat(24)}`)).toEqual(['slack-token'])
    expect(ids(`key=${'AIza' + 'S'.repeat(35)}`)).toEqual(['google-api-key'])
    expect(ids(`${'sk_live_' + '0'.repeat(24)}`)).toEqual(['stripe-key'])
    expect(ids(`//registry.npmjs.org/:_authToken=${'npm_' + 'Z'.repeat(36)}`)).toEqual(['npm-token'])
    expect(ids('{"auths":{"127.0.0.1:5000":{"auth":"dXNlcjpwYXNzd29yZA=="}}}')).toEqual(['docker-auth'])
  })

  it('does not fire on look-alikes', () => {
    expect(ids('AKIA1234')).toEqual([])
    expect(ids('X' + 'AKIA' + 'IOSFODNN7EXAMPLE' + 'X')).toEqual([])
    expect(ids('ghp_short')).toEqual([])
    expect(ids('{"auths":{"127.0.0.1:5000":{}}}')).toEqual([])
    expect(ids(new Uint8Array(200_000).fill(0x41))).toEqual([])
  })

  it('reports one match per shape, and every shape has an id and a description', () => {
    const twice = `${'AKIA' + 'IOSFODNN7EXAMPLE'}\n${'AKIA' + 'IOSFODNN7EXAMPLE'}\n${PEM('')}`
    expect(scanForSecrets(encode(twice)).map((match) => [match.shape.id, match.line])).toEqual([
      ['private-key', 3],
      ['aws-access-key-id', 1],
    ])
    expect(new Set(SECRET_SHAPES.map((shape) => shape.id)).size).toBe(SECRET_SHAPES.length)
  })
})
