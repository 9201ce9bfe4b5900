import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  BUILDKIT_V0_13_NEW_CAPS, BUILDKIT_V0_8_CAPS, CAP_FEATURES, FileAction, copy, encode, image, local, merge, mkdir, mkfile, rm, scratch,
  type CopyOptions, type MarshalOptions, type MountSpec, type Owner, type RunOptions, type State, type Timestamp,
} from './index.js'
import type { PbOp } from './pb/types.js'

/**
 * Exec, file and merge ops are written straight into the op buffer (`writeOp`); their `build()` (a PbOp tree, encoded by
 * the table-driven codec) is the reference. `DefinitionOp.op` comes from `build()`, so every op of a marshalled
 * graph must encode to exactly its bytes.
 */
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

const ALL_CAPS = [...new Set([...BUILDKIT_V0_8_CAPS, ...BUILDKIT_V0_13_NEW_CAPS, ...Object.keys(CAP_FEATURES)])]
const CONTEXTS: MarshalOptions[] = [
  { platform: 'linux/amd64' },
  { platform: 'linux/arm/v7', localUniqueId: 'x' },
  // Every cap but the engine's default PATH: the emitter adds PATH itself.
  { platform: 'linux/amd64', caps: new Set(ALL_CAPS.filter((cap) => cap !== 'exec.meta.setsdefaultpath')) },
  { platform: 'linux/arm64', caps: new Set([...ALL_CAPS, 'exec.meta.setsdefaultpath']) },
]

// Text with multi-byte UTF-8, surrogate pairs and lengths around the one-byte length prefix limit (127).
const text = fc.oneof(
  fc.constantFrom('', 'a', 'make', 'héllo', '日本語', '🙂x', 'x'.repeat(127), 'y'.repeat(128), 'é'.repeat(70)),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
)
const path = fc.oneof(fc.constantFrom('/a', 'b', '/x/y/', 'rel/./p', '/c/.', '../up', '/long/' + 'p'.repeat(130)), text.filter((value) => value !== ''))

/** States to build on and mount: scratch, images (two spelling the same image: one digest), a local source, a file op. */
const bases: (() => State)[] = [
  () => scratch(),
  () => image('busybox'),
  () => image('docker.io/library/busybox:latest'),
  () => image('alpine:3', { platform: 'linux/arm64' }),
  () => local('src', { uniqueId: 'u' }).dir('/work'),
  () => local('ctx'),
  () => image('busybox').file(mkdir('/out')),
]
const base = fc.integer({ min: 0, max: bases.length - 1 }).map((index) => (bases[index] as () => State)())

const owner: fc.Arbitrary<Owner | undefined> = fc.option(
  fc.record({ user: fc.option(fc.oneof(fc.nat({ max: 70000 }), fc.constantFrom('root', 'app')), { nil: undefined }), group: fc.option(fc.oneof(fc.nat(), fc.constantFrom('staff')), { nil: undefined }) }),
  { nil: undefined },
)
const time: fc.Arbitrary<Timestamp | undefined> = fc.option(
  fc.oneof(fc.constantFrom(0n, 1n, 1_767_225_600_000_000_000n, -5n), fc.integer({ min: 0, max: 2 ** 41 }).map((ms) => new Date(ms))),
  { nil: undefined },
)
const bool = fc.option(fc.boolean(), { nil: undefined })

const copyOptions: fc.Arbitrary<CopyOptions> = fc.record({
  mode: fc.option(fc.constantFrom(0, 0o644, 0o755, 0o7777), { nil: undefined }),
  modeStr: fc.option(fc.constantFrom('', 'u+x', 'go-w'), { nil: undefined }),
  owner,
  followSymlinks: bool,
  dirContentsOnly: bool,
  attemptUnpack: bool,
  createDestPath: bool,
  allowWildcard: bool,
  allowEmptyWildcard: bool,
  include: fc.option(fc.array(text, { maxLength: 3 }), { nil: undefined }),
  exclude: fc.option(fc.array(text, { maxLength: 3 }), { nil: undefined }),
  alwaysReplaceExistingDestPaths: bool,
  createdTime: time,
}, { requiredKeys: [] })

const action: fc.Arbitrary<FileAction> = fc.oneof(
  fc.tuple(path, fc.record({ mode: fc.option(fc.constantFrom(0, 0o700, 0o1777), { nil: undefined }), parents: bool, owner, createdTime: time }, { requiredKeys: [] }))
    .map(([target, options]) => mkdir(target, options)),
  fc.tuple(path, fc.oneof(text, fc.uint8Array({ maxLength: 300 })), fc.record({ mode: fc.option(fc.constantFrom(0, 0o600), { nil: undefined }), owner, createdTime: time }, { requiredKeys: [] }))
    .map(([target, data, options]) => mkfile(target, data, options)),
  fc.tuple(path, fc.record({ allowNotFound: bool, allowWildcard: bool }, { requiredKeys: [] })).map(([target, options]) => rm(target, options)),
  fc.tuple(base, path, path, copyOptions).map(([from, src, dest, options]) => copy(from, src, dest, options)),
)

/** A chain of 1–4 actions (each on the previous one's result). */
const chain: fc.Arbitrary<FileAction> = fc.array(action, { minLength: 1, maxLength: 4 }).map((actions) => {
  let chained = actions[0] as FileAction
  for (const next of actions.slice(1)) chained = new FileAction(chained, next.spec)
  return chained
})

const mount: fc.Arbitrary<Omit<MountSpec, 'dest'> & { dest?: string }> = fc.oneof(
  fc.record({ type: fc.constant('bind' as const), from: fc.option(base, { nil: undefined }), selector: fc.option(fc.constantFrom('', 'lib', 'a/b'), { nil: undefined }), readonly: bool, output: bool }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('cache' as const), id: fc.option(text, { nil: undefined }), sharing: fc.option(fc.constantFrom('shared' as const, 'private' as const, 'locked' as const), { nil: undefined }), from: fc.option(base, { nil: undefined }) }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('tmpfs' as const), size: fc.option(fc.constantFrom(0, 1, 1 << 20, 2 ** 40), { nil: undefined }) }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('secret' as const), id: fc.constantFrom('npm', 'key'), mode: fc.option(fc.constantFrom(0o400, 0o440), { nil: undefined }), uid: fc.option(fc.nat(70000), { nil: undefined }), gid: fc.option(fc.nat(), { nil: undefined }), optional: bool }, { requiredKeys: ['type', 'id'] }),
  fc.record({ type: fc.constant('ssh' as const), id: fc.option(fc.constantFrom('default', 'deploy'), { nil: undefined }), mode: fc.option(fc.constantFrom(0o600), { nil: undefined }), uid: fc.option(fc.nat(9), { nil: undefined }), optional: bool }, { requiredKeys: ['type'] }),
)

const run: fc.Arbitrary<RunOptions> = fc.record({
  args: fc.array(text, { minLength: 1, maxLength: 4 }),
  env: fc.option(fc.dictionary(fc.constantFrom('A', 'B', 'PATH', 'SSH_AUTH_SOCK', 'LONG_' + 'K'.repeat(100)), text, { maxKeys: 3 }), { nil: undefined }),
  cwd: fc.option(path, { nil: undefined }),
  user: fc.option(fc.constantFrom('', 'app', '1000:1000'), { nil: undefined }),
  hostname: fc.option(fc.constantFrom('', 'builder'), { nil: undefined }),
  extraHosts: fc.option(fc.array(fc.record({ host: fc.constantFrom('db', 'cache'), ip: fc.constantFrom('10.0.0.1', '::1') }), { maxLength: 2 }), { nil: undefined }),
  ulimits: fc.option(fc.array(fc.record({ name: fc.constantFrom('nofile' as const, 'nproc' as const), soft: fc.integer({ min: -1, max: 1 << 20 }), hard: fc.integer({ min: -1, max: 1 << 20 }) }), { maxLength: 2 }), { nil: undefined }),
  validExitCodes: fc.option(fc.array(fc.integer({ min: -1, max: 255 }), { maxLength: 3 }), { nil: undefined }),
  network: fc.option(fc.constantFrom('sandbox' as const, 'none' as const, 'host' as const), { nil: undefined }),
  security: fc.option(fc.constantFrom('sandbox' as const, 'insecure' as const), { nil: undefined }),
  proxyEnv: fc.option(fc.record({ httpProxy: fc.constantFrom('http://p:3128'), noProxy: fc.constantFrom('', 'localhost') }, { requiredKeys: [] }), { nil: undefined }),
  cgroupParent: fc.option(fc.constantFrom('', 'kiln.slice'), { nil: undefined }),
  secretEnv: fc.option(fc.array(fc.record({ id: fc.constantFrom('t', 'u'), name: fc.constantFrom('TOKEN', 'OTHER'), optional: bool }, { requiredKeys: ['id', 'name'] }), { maxLength: 2 }), { nil: undefined }),
  customName: fc.option(fc.constantFrom('step'), { nil: undefined }),
}, { requiredKeys: ['args'] }).chain((options) =>
  fc.array(mount, { maxLength: 4 }).map((mounts) => ({
    ...options,
    // Distinct dests (run() rejects duplicates); secrets and ssh agents may keep their default dest.
    mounts: mounts.map((spec, i) => ((spec.type === 'secret' || spec.type === 'ssh') && i % 2 === 0 ? spec : { ...spec, dest: `/m${i}` }) as MountSpec),
  })),
)

/** Every op of `state` marshalled in every context: its bytes equal the reference encoding of its `op`. */
function expectReferenceBytes(state: State): void {
  for (const options of CONTEXTS) {
    const definition = state.marshal(options)
    for (const op of definition.ops.values()) expect(hex(op.bytes)).toBe(hex(encode('Op', op.op as PbOp)))
  }
}

describe('direct op writers (exec, file and merge) match the reference encoding', () => {
  it('exec ops, with every kind of mount and option', () => {
    fc.assert(fc.property(base, run, fc.boolean(), (on, options, stacked) => {
      const state = on.run(options).root()
      // A second op on the first exercises inputs with other indexes and shared sub-graphs.
      expectReferenceBytes(stacked ? state.run({ args: ['true'], mounts: [{ type: 'bind', dest: '/again', from: state, readonly: true }] }).root() : state)
    }), { numRuns: 300 })
  })

  it('file ops, with chains of every action kind and option', () => {
    fc.assert(fc.property(base, chain, fc.option(path, { nil: undefined }), (on, actions, dir) => {
      expectReferenceBytes((dir === undefined ? on : on.dir(dir)).file(actions))
    }), { numRuns: 300 })
  })

  it('merge ops, with repeated inputs and outputs other than 0', () => {
    const exec = image('busybox').run({ args: ['make'], mounts: [{ type: 'bind', dest: '/out', from: scratch() }] })
    const extra = [exec.getMount('/out'), exec.root()]
    fc.assert(fc.property(fc.array(fc.oneof(base, fc.constantFrom(...extra)), { minLength: 2, maxLength: 6 }), fc.option(fc.constantFrom('linux/arm64'), { nil: undefined }), (inputs, platform) => {
      const merged = merge(platform === undefined ? inputs : inputs.map((input) => input.platform(platform)))
      // Without mergeop the merge is lowered or refused: only contexts that have it (or no caps) apply.
      for (const options of [CONTEXTS[0], CONTEXTS[1], CONTEXTS[2]] as MarshalOptions[]) {
        for (const op of merged.marshal(options).ops.values()) expect(hex(op.bytes)).toBe(hex(encode('Op', op.op as PbOp)))
      }
    }), { numRuns: 200 })
  })

  it('runs on one State with the same mounts share them, and marshal like runs on fresh States', () => {
    const src = local('src', { uniqueId: 'u' })
    const mounts = (from: State): MountSpec[] => [{ type: 'bind', dest: '/src', from, readonly: true }, { type: 'bind', dest: '/out', from: scratch() }]
    const base = image('busybox')
    const shards = [0, 1, 2].map((i) => base.run({ args: ['make', `shard-${i}`], mounts: mounts(src) }).getMount('/out'))
    // Other mounts on the same base: not shared.
    const other = base.run({ args: ['make', 'other'], mounts: [{ type: 'bind', dest: '/src', from: local('docs', { uniqueId: 'u' }), readonly: true }] }).root()
    const frozen = Object.freeze(image('busybox')).run({ args: ['true'] }).root()
    const shared = merge([...shards, other, frozen])
    const fresh = merge([
      ...[0, 1, 2].map((i) => image('busybox').run({ args: ['make', `shard-${i}`], mounts: mounts(local('src', { uniqueId: 'u' })) }).getMount('/out')),
      image('busybox').run({ args: ['make', 'other'], mounts: [{ type: 'bind', dest: '/src', from: local('docs', { uniqueId: 'u' }), readonly: true }] }).root(),
      image('busybox').run({ args: ['true'] }).root(),
    ])
    for (const options of CONTEXTS) expect(hex(shared.marshal(options).bytes)).toBe(hex(fresh.marshal(options).bytes))
    expectReferenceBytes(shared)
  })

  it('mount outputs other than the root and file ops reading exec mounts', () => {
    const src = local('src', { uniqueId: 'u' })
    const exec = image('busybox').run({ args: ['make'], mounts: [{ type: 'bind', dest: '/out', from: scratch() }, { type: 'bind', dest: '/src', from: src, readonly: true }] })
    const out = exec.getMount('/out')
    expectReferenceBytes(scratch().file(copy(out, '/', '/a').copy(exec.root(), '/bin', '/b').copy(out, '/x', '/c', { owner: { user: 'app' } })))
  })
})
