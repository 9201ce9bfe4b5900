/** The graph shapes of the llb benchmark and profile script (see README.md). */
import { image, local, merge, mkfile, scratch, type State } from '../../packages/llb/dist/index.js'

export type Shape = (size: number) => State

/** A chain: each node is an exec or a file op on the previous one (half and half). */
export const chain: Shape = (size) => {
  let state: State = image('busybox')
  for (let i = 1; i < size; i++) {
    state = i % 2 === 0
      ? state.run({ args: ['/bin/sh', '-c', `echo ${i} >> /log`], network: 'none' }).root()
      : state.file(mkfile(`/step-${i}`, `step ${i}\n`))
  }
  return state
}

/** A wide fan-out: size-2 exec ops on one base, each mounting a shared local source, merged into one result. */
export const fanOut: Shape = (size) => {
  const base = image('busybox')
  const src = local('src', { uniqueId: 'bench' })
  const branches: State[] = []
  for (let i = 0; i < size - 2; i++) {
    branches.push(base.run({ args: ['/bin/sh', '-c', `make shard-${i}`], network: 'none', mounts: [{ type: 'bind', dest: '/src', from: src, readonly: true }, { type: 'bind', dest: '/out', from: scratch() }] }).getMount('/out'))
  }
  return merge(branches)
}

/** A layered DAG: 100 levels whose nodes each read two nodes of the level below. */
export const layered: Shape = (size) => {
  const width = Math.max(1, Math.floor(size / 100))
  let level: State[] = Array.from({ length: width }, (_unused, i) => image(`busybox:${i}`))
  let count = width
  while (count < size - 1) {
    const previous = level
    level = previous.map((state, i) => {
      const other = previous[(i + 1) % previous.length] as State
      return state.run({ args: ['true', String(count + i)], network: 'none', mounts: [{ type: 'bind', dest: '/other', from: other, readonly: true }] }).root()
    })
    count += width
  }
  return merge(level)
}

export const shapes: Record<string, Shape> = { chain, 'fan-out': fanOut, layered }
