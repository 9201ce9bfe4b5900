import { describe, expect, it } from 'vitest'
import { GoMode, goModeKind, goToChmod, goToUnixMode, unixToGoMode } from './filemode.js'

describe('Go FileMode conversion', () => {
  it('converts the values seen on the wire', () => {
    expect(unixToGoMode(0o40755)).toBe(0x800001ed)
    expect(unixToGoMode(0o40750)).toBe(0x800001e8)
    expect(unixToGoMode(0o120777)).toBe(0x080001ff)
    expect(unixToGoMode(0o100644)).toBe(0x1a4)
  })

  it('maps setuid, setgid and sticky to Go bits and back', () => {
    expect(unixToGoMode(0o104755)).toBe((GoMode.Setuid | 0o755) >>> 0)
    expect(unixToGoMode(0o102750)).toBe((GoMode.Setgid | 0o750) >>> 0)
    expect(unixToGoMode(0o41777)).toBe((GoMode.Dir | GoMode.Sticky | 0o777) >>> 0)
    expect(goToChmod((GoMode.Setuid | 0o755) >>> 0)).toBe(0o4755)
    expect(goToChmod((GoMode.Dir | GoMode.Sticky | 0o777) >>> 0)).toBe(0o1777)
  })

  it('round-trips every file type', () => {
    for (const mode of [0o100600, 0o40700, 0o120777, 0o10644, 0o20660, 0o60660, 0o140755, 0o106755]) {
      expect(goToUnixMode(unixToGoMode(mode))).toBe(mode)
    }
    expect(goModeKind(unixToGoMode(0o20660))).toBe('char')
    expect(goModeKind(unixToGoMode(0o60660))).toBe('block')
    expect(goModeKind(unixToGoMode(0o10644))).toBe('fifo')
    expect(goModeKind(0o644)).toBe('file')
  })
})
