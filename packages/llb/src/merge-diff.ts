import { invalid } from './errors.js'
import { FileVertex, copy, type FileAction } from './file.js'
import type { PbInput, PbOp } from './pb/types.js'
import { EMPTY_CONSTRAINTS, platformToPB, type Platform } from './platform.js'
import { State, assertState } from './state.js'
import type { Writer } from './pb/codec.js'
import {
  MEMO_SLOT, writePlatformTail,
  internCaps, makeOp, pickOpOptions, writeInputEntry, type BuildContext, type BuiltOp, type DirectVertex, type EncodeContext, type OpOptions,
  type Output, type Vertex,
} from './vertex.js'


let mergeCaps: readonly string[] | undefined

/** The MergeOp behind {@link merge}. */
export class MergeVertex implements DirectVertex {
  /** @internal */
  [MEMO_SLOT]: unknown = undefined

  /** The kind of op (on the prototype: one field less per vertex). */
  get kind(): 'merge' {
    return 'merge'
  }

  constructor(readonly sources: readonly Output[], readonly platform: Platform | undefined, readonly options: OpOptions) {}

  inputs(): readonly Output[] {
    return this.sources
  }

  /**
   * Without `mergeop` on the engine, a merge whose later inputs only add files onto scratch (FileOps of mkdir,
   * mkfile and copy) is the same as copying each of them over the first: lower it to that FileOp. Anything else
   * (exec results, images, diffs as upper layers) could hold deletions or type changes a copy would not reproduce,
   * so it is left to fail with `LLB_UNSUPPORTED_CAP`.
   */
  lower(context: BuildContext): Vertex | undefined {
    if (context.support('mergeop') !== 'absent') return undefined
    const [first, ...rest] = this.sources
    if (!first || !rest.every((output) => output.vertex instanceof FileVertex && output.vertex.isAdditiveOnScratch())) return undefined
    let chain: FileAction | undefined
    for (const output of rest) {
      const from = new State({ output })
      chain = chain ? chain.copy(from, '/', '/', { dirContentsOnly: true }) : copy(from, '/', '/', { dirContentsOnly: true })
    }
    const base = new State({ output: first, ...(this.platform ? { platform: this.platform } : {}) })
    return new FileVertex(base, chain as FileAction, this.options)
  }

  /** Why {@link lower} declined, for the error message. */
  lowerRefusal(): string {
    return 'it can only be lowered to copies when every input after the first is a file op on scratch without rm'
  }

  opCaps(): readonly string[] {
    return (mergeCaps ??= internCaps(['mergeop']))
  }

  opName(): string {
    return `merge (${this.sources.length} inputs)`
  }

  /** Like build(): one `Op.inputs` entry per source (not deduplicated), and MergeInput i reading input i. */
  writeOp(context: EncodeContext, w: Writer): void {
    const sources = this.sources
    for (let i = 0; i < sources.length; i++) {
      const source = sources[i] as Output
      writeInputEntry(w, context.hex(source), source.index)
    }
    w.uint32(0x32) // Op.merge
    const merge = w.begin()
    for (let i = 0; i < sources.length; i++) {
      w.uint32(0x0a) // MergeOp.inputs
      if (i === 0) w.uint32(0) // an empty MergeInput: input 0 is the default
      else {
        const start = w.begin()
        w.uint32(0x08)
        w.uint32(i)
        w.end(start)
      }
    }
    w.end(merge)
    writePlatformTail(w, this.platform ?? context.platform)
  }

  build(context: BuildContext): BuiltOp {
    const inputs: PbInput[] = this.sources.map((output) => context.input(output))
    const op: PbOp = makeOp({
      inputs,
      merge: { inputs: inputs.map((_input, index) => ({ input: index })) },
      platform: platformToPB(this.platform ?? context.platform),
      constraints: EMPTY_CONSTRAINTS,
    })
    return { op, caps: this.opCaps(), name: this.opName(), options: this.options }
  }
}

/** The DiffOp behind {@link diff}. */
export class DiffVertex implements Vertex {
  /** @internal */
  [MEMO_SLOT]: unknown = undefined

  /** The kind of op (on the prototype: one field less per vertex). */
  get kind(): 'diff' {
    return 'diff'
  }

  constructor(readonly lowerOutput: Output, readonly upperOutput: Output | undefined, readonly platform: Platform | undefined, readonly options: OpOptions) {}

  inputs(): readonly Output[] {
    return this.upperOutput ? [this.lowerOutput, this.upperOutput] : [this.lowerOutput]
  }

  lowerRefusal(): string {
    return 'a diff has no faithful lowering'
  }

  build(context: BuildContext): BuiltOp {
    const inputs: PbInput[] = [context.input(this.lowerOutput)]
    if (this.upperOutput) inputs.push(context.input(this.upperOutput))
    const op: PbOp = makeOp({
      inputs,
      diff: { lower: { input: 0 }, upper: { input: this.upperOutput ? 1 : -1 } },
      platform: platformToPB(this.platform ?? context.platform),
      constraints: EMPTY_CONSTRAINTS,
    })
    return { op, caps: ['diffop'], name: 'diff', options: this.options }
  }
}

/**
 * Layers filesystems in order, later ones on top (BuildKit v0.10+ MergeOp). Scratch inputs are dropped; one input
 * left is returned as is. The result keeps the first input's settings (env, dir, …).
 */
export function merge(inputs: readonly State[], options: OpOptions = {}): State {
  if (!Array.isArray(inputs)) invalid('Expected merge() to get an array of States')
  const states = inputs.map((input, index) => assertState(input, `merge input ${index}`))
  const real = states.filter((state) => !state.isScratch())
  if (real.length === 0) return new State()
  if (real.length === 1) return real[0] as State
  const first = real[0] as State
  const vertex = new MergeVertex(real.map((state) => state.output() as Output), first.getPlatform(), pickOpOptions(options))
  return first.withOutput({ vertex, index: 0 })
}

/**
 * The changes that turn `lower` into `upper` (BuildKit v0.10+ DiffOp). Diff of scratch and `upper` is `upper`.
 * The result keeps `lower`'s settings.
 */
export function diff(lower: State, upper: State, options: OpOptions = {}): State {
  assertState(lower, 'diff lower')
  assertState(upper, 'diff upper')
  const lowerOutput = lower.output()
  if (!lowerOutput) return upper
  const vertex = new DiffVertex(lowerOutput, upper.output(), lower.getPlatform(), pickOpOptions(options))
  return lower.withOutput({ vertex, index: 0 })
}
