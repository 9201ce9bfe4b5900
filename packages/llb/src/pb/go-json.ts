/**
 * JSON in the shape Go's encoding/json gives for the gogo-generated `pb` structs, which is what
 * `buildctl debug dump-llb` prints: proto field names as keys, `omitempty` on every field, oneofs wrapped in their
 * Go field (`"Op":{"exec":{…}}`, `null` when unset), enums as numbers, bytes as base64, map keys sorted, and Go's
 * HTML-safe string escaping.
 */
import { messageDesc, type FieldDesc, type MessageDesc } from './schema.js'

/** A JSON value that may hold bigints (printed as plain integers). */
export type GoJsonValue = null | boolean | number | bigint | string | GoJsonValue[] | { [key: string]: GoJsonValue }

function isEmpty(field: FieldDesc, value: unknown): boolean {
  if (value === undefined || value === null) return true
  if (field.repeated) return (value as unknown[]).length === 0
  if (field.kind === 'map') return Object.keys(value as object).length === 0
  if (field.kind === 'message') return false
  if (field.kind === 'bytes') return (value as Uint8Array).length === 0
  return value === '' || value === false || value === 0 || value === 0n
}

function scalarJson(field: FieldDesc, value: unknown): GoJsonValue {
  if (field.kind === 'bytes') return Buffer.from(value as Uint8Array).toString('base64')
  return value as GoJsonValue
}

function valueJson(field: FieldDesc, value: unknown): GoJsonValue {
  if (field.kind === 'map') {
    const record = value as Record<string, unknown>
    const out: Record<string, GoJsonValue> = {}
    for (const key of Object.keys(record).sort()) {
      const entry = record[key]
      out[key] = field.mapValue === 'message'
        ? toGoJson(messageDesc(field.type as string), entry as object)
        : field.mapValue === 'bytes' ? Buffer.from(entry as Uint8Array).toString('base64') : (entry as GoJsonValue)
    }
    return out
  }
  if (field.repeated) {
    return (value as unknown[]).map((item) =>
      field.kind === 'message' ? toGoJson(messageDesc(field.type as string), item as object) : scalarJson(field, item))
  }
  if (field.kind === 'message') return toGoJson(messageDesc(field.type as string), value as object)
  return scalarJson(field, value)
}

/** Converts a decoded message to the object Go's encoding/json would print for it. */
export function toGoJson(desc: MessageDesc, value: object): GoJsonValue {
  const record = value as Record<string, unknown>
  const out: Record<string, GoJsonValue> = {}
  const seen = new Set<string>()
  for (const field of desc.fields) {
    if (field.oneof !== undefined) {
      if (seen.has(field.oneof)) continue
      seen.add(field.oneof)
      const goName = desc.oneofs[field.oneof] as string
      const member = desc.fields.find((candidate) => candidate.oneof === field.oneof && record[candidate.prop] !== undefined)
      if (!member) {
        out[goName] = null
        continue
      }
      const memberValue = record[member.prop]
      out[goName] = isEmpty(member, memberValue) ? {} : { [member.name]: valueJson(member, memberValue) }
      continue
    }
    const fieldValue = record[field.prop]
    if (isEmpty(field, fieldValue)) continue
    out[field.name] = valueJson(field, fieldValue)
  }
  return out
}

const ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' }

/** A JSON string literal escaped like Go's encoding/json (HTML-safe). */
export function goString(value: string): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (char) => ESCAPES[char] as string)
}

/** Serializes like Go's `json.Marshal`: compact, keys in the object's order, bigints as integers. */
export function stringifyGo(value: GoJsonValue): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string': return goString(value)
    case 'bigint': return value.toString()
    case 'number':
    case 'boolean': return String(value)
  }
  if (Array.isArray(value)) return `[${value.map(stringifyGo).join(',')}]`
  return `{${Object.entries(value).map(([key, item]) => `${goString(key)}:${stringifyGo(item)}`).join(',')}}`
}
