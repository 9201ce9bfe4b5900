// The entry of the bundled CLI (dist/bin/kiln-bundle.cjs, built by scripts/bundle.mjs), which `kiln.cjs` loads.
export { mark } from '../timing.js'
export { exitCli, runCli } from './run.js'
export { setImporter } from '../dynamic-import.js'
