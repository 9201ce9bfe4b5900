import { describe, expect, it } from 'vitest'
import { checkReceivedPath } from './filesend.js'

describe('checkReceivedPath', () => {
  it('accepts clean relative paths', () => {
    expect(checkReceivedPath('a/b c/ü')).toEqual(['a', 'b c', 'ü'])
    expect(checkReceivedPath('..a')).toEqual(['..a'])
  })

  it.each(['', '/etc/passwd', '../x', 'a/../../x', 'a/..', './a', 'a//b', 'a/', 'a/./b', 'a\0b'])('refuses %j', (path) => {
    expect(() => checkReceivedPath(path)).toThrow(/refusing/)
  })
})
