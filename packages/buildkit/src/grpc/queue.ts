/** An unbounded async queue with an end and an error, consumed by one async iterator. */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private items: T[] = []
  private ended = false
  private error: unknown = undefined
  private failed = false
  private waiter: (() => void) | undefined
  /** Called when the consumer has taken items and the queue is short again (for resuming a paused producer). */
  onDrain: (() => void) | undefined
  /** Called when the consumer stops iterating early (break/return). */
  onReturn: (() => void) | undefined

  get size(): number {
    return this.items.length
  }

  push(item: T): void {
    if (this.ended || this.failed) return
    this.items.push(item)
    this.wake()
  }

  end(): void {
    this.ended = true
    this.wake()
  }

  fail(error: unknown): void {
    if (this.ended || this.failed) return
    this.failed = true
    this.error = error
    this.wake()
  }

  private wake(): void {
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.()
  }

  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      if (this.items.length > 0) {
        const value = this.items.shift() as T
        if (this.items.length === 0) this.onDrain?.()
        return { value, done: false }
      }
      if (this.failed) throw this.error
      if (this.ended) return { value: undefined, done: true }
      await new Promise<void>((resolve) => {
        this.waiter = resolve
      })
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: async () => {
        this.onReturn?.()
        this.ended = true
        this.items = []
        return { value: undefined, done: true }
      },
    }
  }
}
