/** Secrets offered to builds through the session (`Secrets/GetSecret`, wire doc 7.1). */
import { readFile } from 'node:fs/promises'

/** Where a secret's bytes come from. The bytes are read when the engine asks, and never logged. */
export type SecretSource =
  | { env: string }
  | { file: string }
  | { value: string | Uint8Array }

/** Looks a secret up by id; `undefined` means "not found" (the engine then answers NOT_FOUND semantics). */
export type SecretProvider = (id: string) => Promise<Uint8Array | undefined> | Uint8Array | undefined

/** BuildKit's Go client refuses secrets above 500 KiB; so does Kiln, with a clear message. */
export const MAX_SECRET_BYTES = 500 * 1024

export function secretProvider(sources: Record<string, SecretSource>, env: NodeJS.ProcessEnv = process.env): SecretProvider {
  return async (id) => {
    const source = Object.hasOwn(sources, id) ? sources[id] : undefined
    if (!source) return undefined
    if ('value' in source) return typeof source.value === 'string' ? Buffer.from(source.value) : source.value
    if ('env' in source) {
      const value = env[source.env]
      return value === undefined ? undefined : Buffer.from(value)
    }
    try {
      return await readFile(source.file)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }
}
