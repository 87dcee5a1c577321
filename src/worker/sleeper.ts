/** A sleep that `wake()` cuts short, so stopping a worker never waits out `--sleep`. */
export class Sleeper {
  private pending: { timer: NodeJS.Timeout; resolve: () => void } | undefined;

  sleep(seconds: number): Promise<void> {
    if (seconds <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.finish(), seconds * 1000);
      this.pending = { timer, resolve };
    });
  }

  wake(): void {
    this.finish();
  }

  private finish(): void {
    const pending = this.pending;
    this.pending = undefined;
    if (!pending) return;
    clearTimeout(pending.timer);
    pending.resolve();
  }
}
