/** `kiln --version` / `kiln -V` alone: answered without loading the CLI. */
export function isVersionRequest(args: readonly string[]): boolean {
  return args.length === 1 && (args[0] === '--version' || args[0] === '-V')
}
