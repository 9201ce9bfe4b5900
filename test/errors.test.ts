import { connect, isBuildkitError } from '@kiln/buildkit'
import { ERROR_CODES, isCoreError } from '@kiln/core'
import { DOCKERD_20_10, image, isLlbError } from '@kiln/llb'
import { describe, expect, it } from 'vitest'

// Errors raised by llb and the BuildKit client are CoreErrors for whoever holds only @kiln/core (a plugin, the CLI).
describe('one error contract across packages', () => {
  it('an llb caps error is a CoreError with a code from core', () => {
    const state = image('busybox:latest').run({ args: ['true'], network: 'none', mounts: [{ type: 'tmpfs', dest: '/t', size: 1024 }] }).root()
    let caught: unknown
    try {
      state.marshal({ ...DOCKERD_20_10 })
    } catch (error) {
      caught = error
    }
    expect(isLlbError(caught, 'LLB_UNSUPPORTED_CAP')).toBe(true)
    expect(isCoreError(caught, 'LLB_UNSUPPORTED_CAP')).toBe(true)
    expect(ERROR_CODES).toContain((caught as { code: string }).code)
  })

  it('an unreachable engine is a CoreError BUILDKIT_UNAVAILABLE', async () => {
    const error = await connect({ address: 'unix:///nonexistent/kiln-test.sock' }).then(
      () => undefined,
      (failure: unknown) => failure,
    )
    expect(isBuildkitError(error, 'BUILDKIT_UNAVAILABLE')).toBe(true)
    expect(isCoreError(error, 'BUILDKIT_UNAVAILABLE')).toBe(true)
    expect((error as Error).message).toContain('/nonexistent/kiln-test.sock')
  })
})
