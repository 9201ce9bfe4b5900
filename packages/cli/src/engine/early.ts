/**
 * A connection opened ahead of need: `kiln run` starts connecting (and probing the engine's capabilities) while the
 * config and plugins load, and the runtime takes the connection when it gets there. Opening it imports nothing
 * until `start()` or `take()` is called, so commands that never need an engine pay nothing.
 */
export class EarlyConnection<T extends { close(): void }> {
  private pending: Promise<T> | undefined

  constructor(private readonly open: () => Promise<T>) {}

  /** Starts connecting now. A failure is kept for whoever takes the connection (config errors still come first). */
  start(): void {
    if (this.pending) return
    this.pending = this.open()
    this.pending.catch(() => undefined)
  }

  /** The connection, started now unless `start()` was called; closing it is then the taker's job. */
  take(): Promise<T> {
    const pending = this.pending ?? this.open()
    this.pending = undefined
    return pending
  }

  /** Closes a connection that was started and never taken (the run stopped before it needed the engine). */
  async release(): Promise<void> {
    const pending = this.pending
    this.pending = undefined
    if (pending) (await pending.catch(() => undefined))?.close()
  }
}
