/**
 * `import()` of modules the CLI does not carry: plugins from the project's node_modules and jiti. The installed
 * binary runs its bundle as a script compiled through V8's code cache (bin/compile-cache.ts), and on Node 20 a
 * script restored from that cache cannot call `import()` itself ("A dynamic import callback was not specified"):
 * the launcher, a module Node loaded, hands its own `import` in through `setImporter`.
 */
type Importer = (specifier: string) => Promise<unknown>

let importer: Importer = (specifier) => import(specifier)

/** Replaces how modules are imported (the launcher's `import`); the CLI's own sources use the default. */
export function setImporter(next: Importer): void {
  importer = next
}

/** Imports `specifier` (a package name or a file URL) with Node's module loader. */
export function importModule<T = unknown>(specifier: string): Promise<T> {
  return importer(specifier) as Promise<T>
}
