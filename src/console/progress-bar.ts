/** A one-line progress bar redrawn in place; only meaningful on a terminal. */
export interface ProgressBar {
  /** Counts one more item done and redraws. */
  tick(): void;
  /** Ends the line so later output starts on a fresh one. */
  finish(): void;
}

/**
 * A progress bar of `total` items on `stream` (which must be a TTY: `\r` redraws garble logs,
 * so callers print one line per item elsewhere).
 */
export function progressBar(total: number, stream: NodeJS.WriteStream = process.stdout, width = 28): ProgressBar {
  let done = 0;
  const draw = () => {
    const filled = total === 0 ? width : Math.round((done / total) * width);
    stream.write(`\r  [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}`);
  };
  draw();
  return {
    tick() {
      done++;
      draw();
    },
    finish() {
      stream.write('\n');
    },
  };
}
