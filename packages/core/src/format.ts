import type { ConfigPath } from './errors.js'

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/

/**
 * Renders a config path for messages: `mounts["/src"]`, `exclude[1]`, `outputs.bin`. The empty path is `(root)`.
 */
export function formatPath(path: ConfigPath): string {
  if (path.length === 0) return '(root)'
  let text = ''
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`
    else if (IDENTIFIER.test(key)) text += text === '' ? key : `.${key}`
    else text += `[${JSON.stringify(key)}]`
  }
  return text
}

/** Describes a received value in words for messages: `number`, `array`, `null`, `"rnu"` for short strings. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'string') return value.length <= 60 ? JSON.stringify(value) : 'string'
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN'
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`
  return typeof value
}

/** The candidate closest to `input` by edit distance, if close enough to be a likely typo. */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const distance = editDistance(input.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  if (best === undefined) return undefined
  const limit = Math.max(1, Math.floor(Math.max(input.length, best.length) / 3))
  return bestDistance <= limit ? best : undefined
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution))
    }
    previous = current
  }
  return previous[b.length] as number
}

/** `one of a, b, c` for messages (`none` when empty). */
export function oneOf(candidates: readonly string[]): string {
  if (candidates.length === 0) return 'none (nothing is declared)'
  return candidates.length === 1 ? (candidates[0] as string) : `one of ${candidates.join(', ')}`
}
