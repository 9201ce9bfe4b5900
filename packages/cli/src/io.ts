/** What a command reads and writes: injected so tests can capture output. */
export interface Stream {
  write(text: string): unknown
  isTTY?: boolean
  columns?: number
}

export interface Io {
  stdout: Stream
  stderr: Stream
  env: Readonly<Record<string, string | undefined>>
  cwd: string
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }
}
