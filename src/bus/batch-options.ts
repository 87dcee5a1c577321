import type { CallbackRef, ChainLink } from '../payload/job-payload.js';

/** What a batch stores in its `options` column (JSON): its callbacks and where its jobs go. */
export interface BatchOptions {
  allowFailures: boolean;
  connection?: string;
  queue?: string;
  then: CallbackRef[];
  catch: CallbackRef[];
  finally: CallbackRef[];
  progress: CallbackRef[];
  /** The rest of a chain the batch sits in: continued once the batch has run, unless cancelled. */
  chain?: { links: ChainLink[]; connection?: string; queue?: string; catch?: CallbackRef[] };
}

/** Options read back from a row, with every list present. */
export function parseBatchOptions(text: string | null): BatchOptions {
  const raw = (text ? JSON.parse(text) : {}) as Partial<BatchOptions>;
  return {
    allowFailures: raw.allowFailures === true,
    ...(raw.connection ? { connection: raw.connection } : {}),
    ...(raw.queue ? { queue: raw.queue } : {}),
    then: raw.then ?? [],
    catch: raw.catch ?? [],
    finally: raw.finally ?? [],
    progress: raw.progress ?? [],
    ...(raw.chain ? { chain: raw.chain } : {}),
  };
}
