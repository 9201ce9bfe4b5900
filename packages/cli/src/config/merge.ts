/**
 * Deep-merges an overlay (a profile such as kiln.ci.yaml) over a base config:
 * maps merge key by key, anything else (lists, scalars) is replaced, and `null` removes the key.
 */
export function deepMerge(base: unknown, overlay: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(overlay)) return overlay
  const result: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(overlay)) {
    if (value === null) delete result[key]
    else result[key] = key in result ? deepMerge(result[key], value) : value
  }
  return result
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const prototype = Object.getPrototypeOf(value) as unknown
  return prototype === Object.prototype || prototype === null
}
