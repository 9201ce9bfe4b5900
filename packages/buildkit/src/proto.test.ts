import { describe, expect, it } from 'vitest'
import { fromBigInt, toBigInt, toNumber } from './proto.js'

describe('int64 helpers', () => {
  it('round-trips nanosecond times and negatives through Long', () => {
    for (const value of [0n, 1n, 1732835000123456789n, -1n, (1n << 62n) + 12345n, -(1n << 63n)]) expect(toBigInt(fromBigInt(value))).toBe(value)
    expect(toNumber(fromBigInt(123456789n))).toBe(123456789)
  })
})
