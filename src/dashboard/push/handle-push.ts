import { dispatch } from '../../bus/dispatch.js';
import { closestName } from '../../config/closest-name.js';
import type { ResolvedConfig } from '../../config/config-types.js';
import { ownProperty } from '../../config/own-property.js';
import { ConfigError } from '../../errors/config-error.js';
import { PayloadError } from '../../errors/payload-error.js';
import { lockStore } from '../../locks/current-lock-store.js';
import { report, runtime } from '../../runtime/current.js';
import { withoutCredentials } from '../../runtime/without-credentials.js';
import type { PushBody, PushedJobBody } from '../api-types.js';
import { readLimitedBody } from '../limited-body.js';
import { jsonResponse } from '../responses.js';
import { authenticatePush } from './authenticate-push.js';
import { buildPushedJob, type PushedJob } from './build-pushed-job.js';
import { IdempotentPushes, pushFingerprint } from './idempotent-pushes.js';
import { parsePushBody } from './parse-push-body.js';
import { PushError } from './push-error.js';

/** What the dashboard's router passes: the `:queue` of `api/queues/:queue/jobs`, already URL-decoded. */
export interface PushContext {
  readonly queue: string;
}

/** The longest queue name accepted: what the jobs table's `queue` column holds. */
const MAX_QUEUE_LENGTH = 255;

/**
 * `POST <base>/api/queues/:queue/jobs`: queues one job (`{ job, data?, id?, delay? }`) or many
 * (`{ jobs: [...] }`) sent by another host, through errand's own dispatch (so the class's
 * options, unique locks, encryption and middleware apply as for any dispatch). Authenticated by
 * a bearer token or a signed body (`api` in the config), never by the dashboard's own auth;
 * `?connection=` picks the connection (default: the job's own, else the default connection).
 * The body is read, authenticated, and every job in it checked before the first is queued.
 */
export async function handlePush(req: Request, ctx: PushContext): Promise<Response> {
  try {
    if (req.method !== 'POST') {
      throw new PushError(405, `The push API takes POST, not ${req.method}.`, undefined, { allow: 'POST' });
    }
    const app = await runtime();
    const { api } = app.config;
    const raw = await readLimitedBody(
      req,
      api.maxBodySize,
      (size) =>
        new PushError(
          413,
          `The request body is ${size} bytes, over the push API's limit of ${api.maxBodySize} bytes: send fewer jobs per request or raise api.maxBodySize.`,
          'api.maxBodySize',
        ),
    );
    authenticatePush(req.headers, raw, api, Math.floor(Date.now() / 1000));
    const queue = checkQueue(ctx.queue);
    const items = parsePushBody(raw);
    const asked = new URL(req.url).searchParams.get('connection');
    const jobs = items.map((item) => {
      const job = buildPushedJob(item, app.config);
      return { job, connection: connectionOf(job, asked, app.config) };
    });
    const idempotent = items.some((item) => item.id !== undefined)
      ? new IdempotentPushes(await lockStore(), api.idempotencyWindow)
      : undefined;
    const answers: PushedJobBody[] = [];
    for (const { job, connection } of jobs) {
      try {
        answers.push(await pushOne(job, connection, queue, idempotent));
      } catch (error) {
        throw partly(error, job, answers.length);
      }
    }
    const body: PushBody = { ok: true, jobs: answers };
    const queued = answers.some((answer) => !answer.replayed && answer.jobId !== null);
    return jsonResponse(body, queued ? 201 : 200);
  } catch (error) {
    if (error instanceof PushError) return jsonResponse(error.body(), error.status, error.headers);
    report(error);
    return jsonResponse(
      { error: `The push failed: ${withoutCredentials((error as Error)?.message ?? String(error))}` },
      500,
    );
  }
}

async function pushOne(
  pushed: PushedJob,
  connection: string,
  queue: string,
  idempotent: IdempotentPushes | undefined,
): Promise<PushedJobBody> {
  const { item, entry, instance } = pushed;
  const answer = (jobId: string | null, replayed: boolean, skipped?: 'unique'): PushedJobBody => ({
    id: item.id ?? null,
    job: entry.name,
    connection,
    queue,
    jobId,
    replayed,
    ...(skipped ? { skipped } : {}),
  });
  const send = async () => {
    const pending = dispatch(instance).onQueue(queue).onConnection(connection);
    if (item.delay !== undefined) pending.delay(item.delay);
    return pending;
  };
  if (item.id === undefined || !idempotent) {
    const jobId = await send();
    return answer(jobId, false, jobId === null ? 'unique' : undefined);
  }
  const claim = await idempotent.claim({
    connection,
    queue,
    id: item.id,
    fingerprint: pushFingerprint(entry.name, item.data, item.delay),
  });
  if (claim === 'busy') {
    throw new PushError(
      409,
      `${item.at}.id ${JSON.stringify(item.id)} is being pushed by another request right now; retry in a moment to get its answer.`,
      undefined,
      { 'retry-after': '1' },
    );
  }
  if ('answer' in claim) {
    if (!claim.sameJob) {
      throw new PushError(
        422,
        `${item.at}.id ${JSON.stringify(item.id)} was already used for a different job (name, data or delay) on [${connection}] queue [${queue}]; a client id names one job.`,
      );
    }
    return answer(claim.answer.jobId, true, claim.answer.skipped);
  }
  let jobId: string | null;
  try {
    jobId = await send();
  } catch (error) {
    await claim.abandon().catch(report);
    throw error;
  }
  const skipped = jobId === null ? 'unique' : undefined;
  await claim.record({ jobId, ...(skipped ? { skipped } : {}) });
  return answer(jobId, false, skipped);
}

function checkQueue(queue: string): string {
  if (queue === '' || queue.length > MAX_QUEUE_LENGTH || queue.includes('\u0000')) {
    throw new PushError(400, `The queue name in the URL must be 1 to ${MAX_QUEUE_LENGTH} characters without NUL.`);
  }
  return queue;
}

/** The connection a job is pushed to: `?connection=`, else the job class's own, else the default. */
function connectionOf(job: PushedJob, asked: string | null, config: ResolvedConfig): string {
  const name = asked ?? job.entry.options.connection ?? config.default;
  const resolved = ownProperty(config.connections, name);
  if (!resolved) {
    const closest = closestName(name, Object.keys(config.connections));
    throw new PushError(
      404,
      `Connection [${withoutCredentials(name)}] is not defined in the errand config.${closest ? ` Did you mean [${closest}]?` : ''}`,
      'connection',
    );
  }
  if (resolved.driver === 'sync') {
    throw new PushError(
      400,
      `Connection [${name}] is a sync connection: a pushed job would run inside the web process. Push to a database or redis connection.`,
      'connection',
    );
  }
  return name;
}

/** An error queuing the job at `index`, saying which jobs before it were queued (a retry with their ids replays them). */
function partly(error: unknown, job: PushedJob, index: number): unknown {
  const before =
    index === 0
      ? ''
      : ` The ${index} job${index === 1 ? '' : 's'} before it ${index === 1 ? 'was' : 'were'} queued; resend with the same ids to get their answers without queuing them again.`;
  if (error instanceof PushError) {
    return index === 0 ? error : new PushError(error.status, error.message + before, error.option, error.headers);
  }
  const message = withoutCredentials((error as Error)?.message ?? String(error));
  if (error instanceof PayloadError) return new PushError(422, `${job.item.at}: ${message}${before}`);
  if (error instanceof ConfigError) return new PushError(500, `${job.item.at}: ${message}${before}`);
  report(error);
  return new PushError(503, `${job.item.at}: ${job.entry.name} could not be queued: ${message}${before}`);
}
