import { describe, expect, it } from 'vitest'
import { createGlobSet, globToRegExp } from './index.js'

const matches = (pattern: string, path: string) => globToRegExp(pattern).test(path)

describe('globToRegExp', () => {
  it('matches a pattern without a slash at any depth', () => {
    expect(matches('*.pem', 'key.pem')).toBe(true)
    expect(matches('*.pem', 'app/certs/key.pem')).toBe(true)
    expect(matches('*.pem', 'app/key.pem.txt')).toBe(false)
    expect(matches('.env', 'srv/app/.env')).toBe(true)
    expect(matches('.env', 'srv/app/.envrc')).toBe(false)
  })

  it('anchors a pattern with a slash (or a leading slash) at the root', () => {
    expect(matches('etc/shadow', 'etc/shadow')).toBe(true)
    expect(matches('etc/shadow', 'backup/etc/shadow')).toBe(false)
    expect(matches('/id_rsa', 'id_rsa')).toBe(true)
    expect(matches('/id_rsa', 'root/id_rsa')).toBe(false)
    expect(matches('root/.ssh/', 'root/.ssh')).toBe(true)
  })

  it('keeps * and ? within a segment, and lets ** span segments', () => {
    expect(matches('app/*.key', 'app/a.key')).toBe(true)
    expect(matches('app/*.key', 'app/sub/a.key')).toBe(false)
    expect(matches('app/**/*.key', 'app/a.key')).toBe(true)
    expect(matches('app/**/*.key', 'app/x/y/a.key')).toBe(true)
    expect(matches('**/.ssh/**', 'home/u/.ssh/id_ed25519')).toBe(true)
    expect(matches('**/.ssh/**', '.ssh/config')).toBe(true)
    expect(matches('app/**', 'app/a/b')).toBe(true)
    expect(matches('id_?sa', 'root/id_rsa')).toBe(true)
    expect(matches('id_?sa', 'root/id_r/sa')).toBe(false)
  })

  it('supports classes and alternatives, and escapes regex characters', () => {
    expect(matches('*.{pem,key}', 'a/b.key')).toBe(true)
    expect(matches('*.{pem,key}', 'a/b.crt')).toBe(false)
    expect(matches('file[0-9].txt', 'file7.txt')).toBe(true)
    expect(matches('file[!0-9].txt', 'file7.txt')).toBe(false)
    expect(matches('file[!0-9].txt', 'filex.txt')).toBe(true)
    expect(matches('a+b(c).txt', 'a+b(c).txt')).toBe(true)
    expect(matches('a.txt', 'abtxt')).toBe(false)
  })

  it('rejects an unclosed alternative', () => {
    expect(() => globToRegExp('{a,b')).toThrow('Invalid glob "{a,b": expected a closing "}"')
  })
})

describe('createGlobSet', () => {
  it('returns the first matching pattern', () => {
    const set = createGlobSet(['*.pem', 'etc/shadow'])
    expect(set.match('/etc/shadow')).toBe('etc/shadow')
    expect(set.match('srv/tls/key.pem')).toBe('*.pem')
    expect(set.match('srv/tls/cert.crt')).toBeUndefined()
  })
})
