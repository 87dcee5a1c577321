import path from 'node:path';

import type { Knex } from 'knex';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { JobFailed } from '../../src/events/job-failed.js';
import { JobProcessed } from '../../src/events/job-processed.js';
import { JobProcessing } from '../../src/events/job-processing.js';
import { JobReleasedAfterException } from '../../src/events/job-released-after-exception.js';
import { findModel, findModels } from '../../src/models/find-model.js';
import { forgetModelResolver, registerModelResolver } from '../../src/models/model-resolvers.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { events, runtime } from '../../src/runtime/current.js';
import { createWorker } from '../../src/worker/create-worker.js';
import {
  Game,
  GameListJob,
  InspectGameJob,
  MemoryNote,
  MissingGameJob,
  memoryLoads,
  memoryNoteResolver,
  memoryStore,
  modelRecorder,
  NestedModelJob,
  NoteJob,
  QuietMissingGameJob,
  StampGameTokenJob,
} from '../fixtures/jobs/model-jobs.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { ROOT, runCli } from '../helpers/run-cli.js';
import { countRows, createWorkerApp, type WorkerApp } from '../helpers/worker-process.js';

const describeEachSql = databaseOnly('reads the payloads stored in the jobs table');
await describeEachSql('models held by jobs', (engine) => {
  let knex: Knex;
  let app: WorkerApp;
  const reported: unknown[] = [];
  /** What the in-process worker went through, one word per event. */
  const lifecycle: string[] = [];
  const unsubscribe: Array<() => void> = [];
  const work = () => createWorker({ stopWhenEmpty: true, sleep: 0 }).run();
  const jobRows = () => knex('jobs').select('*').orderBy('id') as Promise<Array<Record<string, string>>>;
  const failedRows = () => knex('failed_jobs').select('*').orderBy('id') as Promise<Array<Record<string, string>>>;
  const rawPayload = async (id: string | null) => {
    expect(id).toEqual(expect.any(String));
    const rows = (await knex('jobs').where({ id: id! })) as Array<{ payload: string }>;
    expect(rows).toHaveLength(1);
    return rows[0]!.payload;
  };
  const insertGame = (id: number, name: string, token: string, teamId: number | null = null) =>
    knex('games').insert({ id, name, token, team_id: teamId });
  const loadGame = async (id: number, relations: string[] = []) => {
    const game = await findModel(Game, id, { relations });
    expect(game, `game ${id}`).toBeInstanceOf(Game);
    return game!;
  };

  beforeAll(async () => {
    const connection = await freshDatabase(engine, 'models');
    // Migrates through the CLI (as a deployment would) and writes the worker process's config.
    app = await createWorkerApp(connection, {
      bootstrap: [path.join(ROOT, 'test/fixtures/workers/game-jobs.mjs')],
      prefix: 'errand-models-',
    });
    await boot({ default: 'database', connections: { database: connection }, report: (error) => reported.push(error) });
    knex = databaseQueue((await runtime()).queues).knex;
    unsubscribe.push(
      events.on(JobProcessing, () => void lifecycle.push('processing')),
      events.on(JobProcessed, () => void lifecycle.push('processed')),
      events.on(JobReleasedAfterException, () => void lifecycle.push('released')),
      events.on(JobFailed, () => void lifecycle.push('failed')),
    );
    await knex.schema.createTable('teams', (t) => {
      t.increments('id');
      t.string('name', 100).notNullable();
    });
    await knex.schema.createTable('games', (t) => {
      t.increments('id');
      t.string('name', 100).notNullable();
      t.string('token', 100).notNullable();
      t.integer('team_id').nullable();
    });
    await knex.schema.createTable('players', (t) => {
      t.increments('id');
      t.integer('game_id').notNullable();
      t.string('name', 100).notNullable();
    });
  });
  afterAll(async () => {
    unsubscribe.forEach((off) => off());
    forgetModelResolver(memoryNoteResolver);
    await shutdown();
    await app?.close();
  });
  beforeEach(async () => {
    modelRecorder.reset();
    reported.length = 0;
    lifecycle.length = 0;
    memoryStore.clear();
    memoryLoads.length = 0;
    for (const table of ['jobs', 'failed_jobs', 'ledger', 'games', 'teams', 'players']) await knex(table).delete();
  });

  it('stores only the identifier of a game and the worker process reads the row as it is when the job runs', async () => {
    await insertGame(5, 'Zebra Chess Open', 'tok-at-dispatch-5f3a');
    const game = await loadGame(5);
    expect(game).toMatchObject({ id: 5, name: 'Zebra Chess Open', token: 'tok-at-dispatch-5f3a' });

    const id = await StampGameTokenJob.dispatch(game);
    const raw = await rawPayload(id);
    const payload = JSON.parse(raw);
    expect(payload.data.commandName).toBe('StampGameTokenJob');
    expect(payload.data.models).toEqual({ game: { class: 'Game', id: 5, relations: [], connection: null } });
    expect(payload.data.command).not.toHaveProperty('game');
    // Nothing else of the row travels: neither its name nor its token.
    expect(raw).not.toContain('Zebra Chess Open');
    expect(raw).not.toContain('tok-at-dispatch-5f3a');

    await knex('games').where({ id: 5 }).update({ token: 'tok-changed-after-dispatch' });

    const worker = await runCli(['queue:work', '--stop-when-empty', '--sleep=0'], app.dir, app.env);
    expect(worker.stderr).toBe('');
    expect(worker.code).toBe(0);
    expect(worker.stdout).toMatch(/StampGameTokenJob.*DONE/);

    const [row] = (await knex('games').where({ id: 5 })) as Array<{ name: string; token: string }>;
    expect(row).toMatchObject({ name: 'Zebra Chess Open', token: 'Tested by Job: tok-changed-after-dispatch' });
    // handle() ran once, in the worker process, on an instance of that process's Game class.
    const ledger = (await app.knex('ledger').select('job_key', 'pid', 'attempt')) as Array<{
      job_key: string;
      pid: number;
      attempt: number;
    }>;
    expect(ledger.map((entry) => [entry.job_key, Number(entry.attempt)])).toEqual([['Game 5', 1]]);
    expect(ledger[0]!.pid).not.toBe(process.pid);
    expect(await jobRows()).toEqual([]);
    expect(await failedRows()).toEqual([]);
  });

  it('an array of games restores in the order it was stored, without the rows deleted since', async () => {
    await insertGame(1, 'one', 't1');
    await insertGame(2, 'two', 't2');
    await insertGame(3, 'three', 't3');
    const games = await findModels(Game, [3, 1, 2]);
    expect(games.map((game) => game.id)).toEqual([3, 1, 2]);

    const id = await GameListJob.dispatch(games, 'list');
    const payload = JSON.parse(await rawPayload(id));
    expect(payload.data.models).toEqual({
      games: { class: 'Game', id: [3, 1, 2], relations: [], connection: null, collection: true },
    });
    expect(payload.data.command).toEqual({ label: 'list' });

    await knex('games').where({ id: 1 }).delete();
    await knex('games').where({ id: 2 }).update({ name: 'two, renamed' });
    expect(await work()).toBe(0);

    expect(modelRecorder.handled).toHaveLength(1);
    expect(modelRecorder.handled[0]!.games.map(({ id, name, isGame }) => ({ id, name, isGame }))).toEqual([
      { id: 3, name: 'three', isGame: true },
      { id: 2, name: 'two, renamed', isGame: true },
    ]);
    expect(await failedRows()).toEqual([]);

    // A one-game array still comes back as an array (and an emptied one as an empty array).
    await GameListJob.dispatch([await loadGame(2)], 'single');
    await GameListJob.dispatch([await loadGame(3)], 'emptied');
    await knex('games').where({ id: 3 }).delete();
    await work();
    expect(modelRecorder.handled.slice(1).map((entry) => [entry.job, entry.games.map((game) => game.id)])).toEqual([
      ['single', [2]],
      ['emptied', []],
    ]);
    expect(await failedRows()).toEqual([]);
  });

  it('a game deleted before the worker runs fails the job at once with ModelNotFoundError, and failed() runs without it', async () => {
    await insertGame(7, 'doomed', 't7');
    await insertGame(8, 'survivor', 't8');
    const id = await MissingGameJob.dispatch(await loadGame(7), await loadGame(8));
    const uuid = JSON.parse(await rawPayload(id)).uuid;
    await knex('games').where({ id: 7 }).delete();
    await knex('games').where({ id: 8 }).update({ name: 'survivor, renamed' });

    await work();
    const message = 'No row found for model [Game] with id 7 (held by property game).';
    expect(modelRecorder.handled).toEqual([]);
    expect(modelRecorder.failed).toEqual([
      {
        job: 'MissingGameJob',
        name: 'ModelNotFoundError',
        message,
        game: undefined,
        other: expect.objectContaining({ id: 8, name: 'survivor, renamed', isGame: true }),
      },
    ]);
    const failed = await failedRows();
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ uuid, queue: 'default', connection: 'database' });
    expect(failed[0]!.exception).toContain(`ModelNotFoundError: ${message}`);
    expect(JSON.parse(failed[0]!.payload).uuid).toBe(uuid);
    // Failed at once: one attempt of its three, no release, nothing left queued.
    expect(lifecycle).toEqual(['processing', 'failed']);
    expect(await jobRows()).toEqual([]);
  });

  it('with deleteWhenMissingModels a job whose game is gone is deleted quietly: no failed_jobs row, no failed()', async () => {
    await insertGame(7, 'doomed', 't7');
    await insertGame(8, 'survivor', 't8');
    const id = await QuietMissingGameJob.dispatch(await loadGame(7), await loadGame(8));
    expect(JSON.parse(await rawPayload(id)).deleteWhenMissingModels).toBe(true);
    await knex('games').where({ id: 7 }).delete();

    expect(await work()).toBe(0);
    expect(modelRecorder.handled).toEqual([]);
    expect(modelRecorder.failed).toEqual([]);
    expect(await jobRows()).toEqual([]);
    expect(await failedRows()).toEqual([]);
    expect(reported).toEqual([]);
    // One attempt, neither released nor failed.
    expect(lifecycle).not.toContain('failed');
    expect(lifecycle).not.toContain('released');
    expect(lifecycle.filter((step) => step === 'processing')).toHaveLength(1);

    // With its games present, the same job runs normally.
    await QuietMissingGameJob.dispatch(await loadGame(8), await loadGame(8));
    await work();
    expect(modelRecorder.handled.map((entry) => entry.games.map((game) => game.id))).toEqual([[8, 8]]);
  });

  it('relations loaded at dispatch (belongsTo, hasMany) are reloaded fresh on the worker; others stay unloaded', async () => {
    await knex('teams').insert([
      { id: 10, name: 'Reds' },
      { id: 11, name: 'Blues' },
    ]);
    await insertGame(20, 'final', 't20', 10);
    await knex('players').insert([
      { id: 30, game_id: 20, name: 'Ada' },
      { id: 31, game_id: 20, name: 'Grace' },
      { id: 32, game_id: 99, name: 'Elsewhere' },
    ]);

    const full = await loadGame(20, ['team', 'players']);
    expect(full.team).toMatchObject({ id: 10, name: 'Reds' });
    expect(full.players?.map((player) => player.name)).toEqual(['Ada', 'Grace']);
    const fullId = await InspectGameJob.dispatch(full, 'team+players');
    const teamOnlyId = await InspectGameJob.dispatch(await loadGame(20, ['team']), 'team only');
    const bareId = await InspectGameJob.dispatch(await loadGame(20), 'bare');

    const fullRaw = await rawPayload(fullId);
    expect(JSON.parse(fullRaw).data.models).toEqual({
      game: { class: 'Game', id: 20, relations: ['team', 'players'], connection: null },
    });
    expect(fullRaw).not.toContain('Reds');
    expect(fullRaw).not.toContain('Ada');
    expect(JSON.parse(await rawPayload(teamOnlyId)).data.models.game.relations).toEqual(['team']);
    expect(JSON.parse(await rawPayload(bareId)).data.models.game.relations).toEqual([]);

    // After dispatch: the team row is renamed, a player is renamed, one leaves and one joins.
    await knex('teams').where({ id: 10 }).update({ name: 'Reds, renamed' });
    await knex('players').where({ id: 30 }).update({ name: 'Ada Lovelace' });
    await knex('players').where({ id: 31 }).delete();
    await knex('players').insert({ id: 33, game_id: 20, name: 'Barbara' });

    await work();
    expect(await failedRows()).toEqual([]);
    const seen = new Map(modelRecorder.handled.map((entry) => [entry.job, entry.games[0]!]));
    expect(seen.get('team+players')).toMatchObject({
      id: 20,
      team: 'Reds, renamed',
      players: ['Ada Lovelace', 'Barbara'],
    });
    expect(seen.get('team only')).toMatchObject({ id: 20, team: 'Reds, renamed', players: 'not loaded' });
    expect(seen.get('bare')).toMatchObject({ id: 20, team: 'not loaded', players: 'not loaded' });

    // A belongsTo reloaded after its foreign key changed follows the new key.
    await InspectGameJob.dispatch(await loadGame(20, ['team']), 'moved');
    await knex('games').where({ id: 20 }).update({ team_id: 11 });
    await work();
    expect(modelRecorder.handled.at(-1)).toMatchObject({ job: 'moved', games: [{ team: 'Blues' }] });
  });

  it('a registered custom resolver round-trips its models through the queue; once forgotten, its jobs fail', async () => {
    memoryStore.set('n-1', new MemoryNote('n-1', 'first, at dispatch'));
    memoryStore.set('n-2', new MemoryNote('n-2', 'second, at dispatch'));
    registerModelResolver(memoryNoteResolver);
    try {
      const id = await NoteJob.dispatch(memoryStore.get('n-1')!, [memoryStore.get('n-2')!, memoryStore.get('n-1')!]);
      const raw = await rawPayload(id);
      const payload = JSON.parse(raw);
      expect(payload.data.models).toEqual({
        note: { class: 'MemoryNote', id: 'n-1', relations: [], connection: null },
        notes: { class: 'MemoryNote', id: ['n-2', 'n-1'], relations: [], connection: null, collection: true },
      });
      expect(payload.data.command).toEqual({});
      expect(raw).not.toContain('at dispatch');

      memoryStore.set('n-1', new MemoryNote('n-1', 'first, changed'));
      await work();
      expect(await failedRows()).toEqual([]);
      expect(modelRecorder.notes).toEqual([
        { note: 'first, changed', notes: ['second, at dispatch', 'first, changed'], isNote: true },
      ]);
      expect(memoryLoads.map((query) => ({ ...query, ids: [...query.ids] }))).toEqual([
        { class: 'MemoryNote', ids: ['n-1'], relations: [], connection: null },
        { class: 'MemoryNote', ids: ['n-2', 'n-1'], relations: [], connection: null },
      ]);

      // Dispatched while registered, worked after it is forgotten: nothing can read a MemoryNote.
      await NoteJob.dispatch(memoryStore.get('n-2')!, [memoryStore.get('n-2')!]);
    } finally {
      forgetModelResolver(memoryNoteResolver);
    }
    memoryLoads.length = 0;
    await work();
    expect(modelRecorder.notes).toHaveLength(1);
    expect(memoryLoads).toEqual([]);
    const failed = await failedRows();
    expect(failed).toHaveLength(1);
    expect(failed[0]!.exception).toContain(
      'property note holds a [MemoryNote] model, but no @Model class or resolver is registered under that name',
    );
  });

  it('refuses at dispatch a game nested below a top-level property, and a game without a key', async () => {
    await insertGame(40, 'nested', 't40');
    const game = await loadGame(40);
    await expect(NestedModelJob.dispatch({ quantity: 2, game })).rejects.toThrow(
      "Job NestedModelJob cannot be queued: property order.game holds a Game model below the top level; only a job's own properties (or arrays of models) are stored as identifiers.",
    );

    const unsaved = new Game();
    unsaved.name = 'unsaved';
    await expect(InspectGameJob.dispatch(unsaved, 'unsaved')).rejects.toThrow(
      'Job InspectGameJob cannot be queued: property game holds a Game without a key (null); save the model first.',
    );
    await expect(GameListJob.dispatch([game, unsaved], 'mixed')).rejects.toThrow(
      'Job GameListJob cannot be queued: property games[1] holds a Game without a key (null); save the model first.',
    );

    expect(await countRows(knex, 'jobs')).toBe(0);
    expect(modelRecorder.handled).toEqual([]);
  });
});
