/** One attempt of a job: its claim (a ReservedJob), whose identity tells two claims of one row apart. */
export type Attempt = { readonly id: string };

/**
 * The jobs whose handlers are running, in memory both threads share: the main thread writes a
 * job's id and deadline into a free slot when its attempt starts and clears the slot when it ends;
 * the monitor thread reads the table when it judges a wedged event loop.
 *
 * Shared memory instead of a message per attempt: a message is a structured clone and a wake-up of
 * the other thread, which cost more than a no-op job itself. Writes need no lock: the watchdog only
 * acts once the main loop has not turned for a second, and a loop that does not turn writes nothing.
 */
export class RunningJobsTable {
  /** Pairs of (job id, deadline); a deadline of 0 marks a free slot. */
  private readonly cells: Float64Array;
  private readonly free: number[] = [];
  /** Slots by attempt, not by row id: a row claimed again here is a new attempt with a slot of its own. */
  private readonly slotOf = new Map<Attempt, number>();

  /** `memory` from `RunningJobsTable.allocate()`, on either thread. */
  constructor(readonly memory: SharedArrayBuffer) {
    this.cells = new Float64Array(memory);
    for (let slot = this.cells.length / 2 - 1; slot >= 0; slot--) this.free.push(slot);
  }

  /** Memory for `slots` running jobs (the worker's concurrency). */
  static allocate(slots: number): SharedArrayBuffer {
    return new SharedArrayBuffer(Math.max(1, slots) * 2 * Float64Array.BYTES_PER_ELEMENT);
  }

  /** Main thread: `attempt` (of the job `attempt.id`) started and times out at `deadline` (epoch ms, or Infinity). */
  add(attempt: Attempt, deadline: number): void {
    const id = attempt.id;
    const numeric = Number(id);
    // Database ids are auto-increment integers; anything else would be stored wrong, silently.
    if (!Number.isSafeInteger(numeric)) throw new Error(`The running-jobs table holds integer job ids; got [${id}].`);
    const slot = this.free.pop();
    // The worker starts at most `concurrency` handlers at once: a full table is a bug, not load.
    if (slot === undefined)
      throw new Error(`The running-jobs table is full (${this.cells.length / 2} slots) while job #${id} starts.`);
    this.slotOf.set(attempt, slot);
    this.cells[slot * 2] = numeric;
    this.cells[slot * 2 + 1] = deadline;
  }

  /** Main thread: `attempt` ended. */
  remove(attempt: Attempt): void {
    const slot = this.slotOf.get(attempt);
    if (slot === undefined) return;
    this.slotOf.delete(attempt);
    this.cells[slot * 2 + 1] = 0;
    this.free.push(slot);
  }

  /** Monitor thread: the jobs running now, as the main thread last wrote them. */
  read(): { id: string; deadline: number }[] {
    const running: { id: string; deadline: number }[] = [];
    for (let slot = 0; slot < this.cells.length; slot += 2) {
      const deadline = this.cells[slot + 1]!;
      if (deadline !== 0) running.push({ id: String(this.cells[slot]), deadline });
    }
    return running;
  }
}
