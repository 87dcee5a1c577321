/** One attempt of a job: its claim (a ReservedJob), whose identity tells two claims of one row apart. */
export type Attempt = { readonly id: string };

/** The longest job id kept, in UTF-8 bytes: database row ids and Redis job ids fit with room to spare. */
const ID_BYTES = 63;
/** Per slot: the deadline (8 bytes), the id's length (1 byte) and the id; a multiple of 8, so deadlines stay aligned. */
const SLOT_BYTES = 8 + 1 + ID_BYTES;

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
  /** The deadline of each slot, at its first 8 bytes; 0 marks a free slot. */
  private readonly deadlines: Float64Array;
  /** The id of each slot: its length in bytes, then its UTF-8 bytes. */
  private readonly bytes: Uint8Array;
  private readonly free: number[] = [];
  /** Slots by attempt, not by row id: a row claimed again here is a new attempt with a slot of its own. */
  private readonly slotOf = new Map<Attempt, number>();
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  /** `memory` from `RunningJobsTable.allocate()`, on either thread. */
  constructor(readonly memory: SharedArrayBuffer) {
    this.deadlines = new Float64Array(memory);
    this.bytes = new Uint8Array(memory);
    for (let slot = memory.byteLength / SLOT_BYTES - 1; slot >= 0; slot--) this.free.push(slot);
  }

  /** Memory for `slots` running jobs (the worker's concurrency). */
  static allocate(slots: number): SharedArrayBuffer {
    return new SharedArrayBuffer(Math.max(1, slots) * SLOT_BYTES);
  }

  /** Main thread: `attempt` (of the job `attempt.id`) started and times out at `deadline` (epoch ms, or Infinity). */
  add(attempt: Attempt, deadline: number): void {
    const id = attempt.id;
    const slot = this.free.pop();
    // The worker starts at most `concurrency` handlers at once: a full table is a bug, not load.
    if (slot === undefined)
      throw new Error(
        `The running-jobs table is full (${this.memory.byteLength / SLOT_BYTES} slots) while job #${id} starts.`,
      );
    const at = slot * SLOT_BYTES + 8;
    const { read, written } = this.encoder.encodeInto(id, this.bytes.subarray(at + 1, at + 1 + ID_BYTES));
    // Database ids are integers and Redis ids 13 characters; a longer one would be blamed wrongly.
    if (read < id.length) {
      this.free.push(slot);
      throw new Error(`The running-jobs table holds job ids of at most ${ID_BYTES} bytes; got [${id}].`);
    }
    this.bytes[at] = written;
    this.slotOf.set(attempt, slot);
    this.deadlines[(slot * SLOT_BYTES) / 8] = deadline;
  }

  /** Main thread: `attempt` ended. */
  remove(attempt: Attempt): void {
    const slot = this.slotOf.get(attempt);
    if (slot === undefined) return;
    this.slotOf.delete(attempt);
    this.deadlines[(slot * SLOT_BYTES) / 8] = 0;
    this.free.push(slot);
  }

  /** Monitor thread: the jobs running now, as the main thread last wrote them. */
  read(): { id: string; deadline: number }[] {
    const running: { id: string; deadline: number }[] = [];
    for (let slot = 0; slot < this.memory.byteLength / SLOT_BYTES; slot++) {
      const deadline = this.deadlines[(slot * SLOT_BYTES) / 8]!;
      if (deadline === 0) continue;
      const at = slot * SLOT_BYTES + 8;
      // A copy: decoding straight from shared memory is refused.
      running.push({ id: this.decoder.decode(this.bytes.slice(at + 1, at + 1 + this.bytes[at]!)), deadline });
    }
    return running;
  }
}
