#!/usr/bin/env node
// The installed `kiln` binary, bundled by scripts/bundle.mjs into dist/bin/kiln.cjs: CommonJS, so Node starts it
// without its ESM loader. `--version` answers from package.json; every other command runs the bundled CLI
// (kiln-bundle.cjs) through V8's code cache (compile-cache.ts), which spares later runs most of the parse and
// compile of the bundle. `__dirname` is CommonJS's: this file only runs as that bundle.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { compileCacheDir, loadBundle } from './compile-cache.js'
import { isVersionRequest } from './version-flag.js'

interface Bundle {
  mark(label: string): void
  setImporter(importer: (specifier: string) => Promise<unknown>): void
  runCli(args: readonly string[]): Promise<number>
  exitCli(code: number): Promise<never>
}

const args = process.argv.slice(2)
if (isVersionRequest(args)) {
  process.stdout.write(`${(JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version}\n`)
} else {
  const bundle = loadBundle<Bundle>(join(__dirname, 'kiln-bundle.cjs'), compileCacheDir())
  bundle.exports.mark(`bundle loaded (code cache: ${bundle.cache})`)
  // A script restored from V8's code cache cannot call import() on Node 20: plugins and jiti load through here.
  bundle.exports.setImporter((specifier) => import(specifier))
  void bundle.exports.runCli(args).then((code) => {
    bundle.save()
    return bundle.exports.exitCli(code)
  })
}
