import { redact, type KilnEvent } from '@kiln/core'

/**
 * Hides secret values everywhere text can leave the process: events, error messages, reports. The set of values
 * grows as secrets are read (they are read only at run time).
 */
export class Redactor {
  private readonly values = new Set<string>()

  constructor(values: Iterable<string> = []) {
    for (const value of values) this.add(value)
  }

  add(value: string | Uint8Array): void {
    const text = typeof value === 'string' ? value : new TextDecoder().decode(value)
    if (text.length > 0) this.values.add(text)
  }

  get size(): number {
    return this.values.size
  }

  text(text: string): string {
    return this.values.size === 0 ? text : redact(text, this.values)
  }

  /** Redacts every string inside a JSON-like value (events, results, error details). */
  deep<T>(value: T): T {
    if (this.values.size === 0) return value
    return this.walk(value, new WeakSet()) as T
  }

  event(event: KilnEvent): KilnEvent {
    return this.deep(event)
  }

  private walk(value: unknown, seen: WeakSet<object>): unknown {
    if (typeof value === 'string') return this.text(value)
    if (typeof value !== 'object' || value === null) return value
    if (seen.has(value)) return value
    seen.add(value)
    if (Array.isArray(value)) return value.map((item) => this.walk(item, seen))
    if (value instanceof Error) {
      // Keep the prototype and hidden markers (isCoreError's symbol) while redacting message, stack and fields.
      const copy = Object.create(Object.getPrototypeOf(value) as object) as Error
      for (const key of Reflect.ownKeys(value)) {
        const descriptor = Object.getOwnPropertyDescriptor(value, key)
        if (descriptor === undefined) continue
        if ('value' in descriptor) descriptor.value = this.walk(descriptor.value, seen)
        Object.defineProperty(copy, key, descriptor)
      }
      return copy
    }
    const prototype = Object.getPrototypeOf(value) as unknown
    if (prototype !== Object.prototype && prototype !== null) return value
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) out[key] = this.walk(item, seen)
    return out
  }
}
