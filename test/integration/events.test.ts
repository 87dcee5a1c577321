import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import type { Knex } from 'knex';
import { container } from 'tsyringe';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import type { DatabaseConnectionConfig } from '../../src/config/config-types.js';
import { dispatchEvent } from '../../src/listeners/event-dispatcher.js';
import { findModel } from '../../src/models/find-model.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { EventFake } from '../../src/testing/event-fake.js';
import { createWorker } from '../../src/worker/create-worker.js';
import {
  AnnouncePrizeInline,
  eventRecorder,
  ForgetCancelledGame,
  Game,
  GameCancelled,
  GoalScored,
  MatchFinished,
  PaymentDeclined,
  PrizeAwarded,
  RecordGoal,
  RecordGoalLater,
  RefundCancelledGame,
  RoundPlayed,
  Scoreboard,
  TestEvent,
  TestListener,
} from '../fixtures/jobs/event-fixtures.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { ROOT, runCli } from '../helpers/run-cli.js';
import { createWorkerApp, type WorkerApp } from '../helpers/worker-process.js';

const GAME_EVENTS = path.join(ROOT, 'test/fixtures/workers/game-events.mjs');

interface JobRow {
  id: string;
  queue: string;
  payload: string;
  available_at: string | number;
  created_at: string | number;
}

const describeEachSql = databaseOnly('reads the payloads stored in the jobs table');
await describeEachSql('events and listeners', (engine) => {
  let connection: DatabaseConnectionConfig;
  let knex: Knex;
  let app: WorkerApp;
  const reported: unknown[] = [];
  const board = () => container.resolve(Scoreboard);
  const work = (queues?: string[]) => createWorker({ queues, stopWhenEmpty: true, sleep: 0 }).run();
  const jobRows = async () =>
    ((await knex('jobs').select('*').orderBy('id')) as JobRow[]).map((row) => ({
      ...row,
      json: JSON.parse(row.payload),
    }));
  const failedRows = () => knex('failed_jobs').select('*').orderBy('id') as Promise<Array<Record<string, string>>>;
  const insertGame = (id: number, name: string, token: string) => knex('games').insert({ id, name, token });
  const loadGame = async (id: number) => {
    const game = await findModel(Game, id);
    expect(game, `game ${id}`).toBeInstanceOf(Game);
    return game!;
  };
  const gameIdentifier = (id: number) => ({ game: { class: 'Game', id, relations: [], connection: null } });
  /** A worker process: `errand queue:work --queue=game-queue --stop-when-empty` in `dir`. */
  const workGameQueue = async (dir: string) => {
    const worker = await runCli(['queue:work', '--queue=game-queue', '--stop-when-empty', '--sleep=0'], dir, app.env);
    expect(worker.stderr).toBe('');
    expect(worker.code).toBe(0);
    return worker.stdout;
  };
  const ledgerRows = async () =>
    ((await app.knex('ledger').select('job_key', 'pid').orderBy('id')) as Array<{ job_key: string; pid: number }>).map(
      (row) => ({
        key: row.job_key,
        pid: Number(row.pid),
      }),
    );

  beforeAll(async () => {
    connection = await freshDatabase(engine, 'events');
    // Migrates through the CLI and writes the worker process's config, which bootstraps game-events.mjs.
    app = await createWorkerApp(connection, { bootstrap: [GAME_EVENTS], prefix: 'errand-events-' });
    await boot({
      default: 'database',
      connections: { database: connection, inline: { driver: 'sync' } },
      report: (error) => reported.push(error),
    });
    knex = databaseQueue((await runtime()).queues).knex;
    await knex.schema.createTable('games', (t) => {
      t.increments('id');
      t.string('name', 100).notNullable();
      t.string('token', 100).notNullable();
    });
  });
  afterAll(async () => {
    await shutdown();
    await app?.close();
  });
  beforeEach(async () => {
    eventRecorder.reset();
    board().lines.length = 0;
    reported.length = 0;
    for (const table of ['jobs', 'failed_jobs', 'ledger', 'games']) await knex(table).delete();
  });

  it('TestEvent(game): TestListener is pushed to game-queue holding only the game id, and a worker process reads the row as it is then and stamps it', async () => {
    await insertGame(5, 'Zebra Chess Open', 'tok-at-dispatch-5f3a');
    const game = await loadGame(5);

    await expect(TestEvent.dispatch(game)).resolves.toBeUndefined();

    const rows = await jobRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.queue).toBe('game-queue');
    expect(rows[0]!.json.displayName).toBe('TestListener');
    expect(rows[0]!.json.data.commandName).toBe('CallQueuedListener');
    expect(rows[0]!.json.data.command).toEqual({
      listener: 'TestListener',
      event: 'TestEvent',
      data: {},
      models: gameIdentifier(5),
    });
    // Nothing else of the row travels.
    expect(rows[0]!.payload).not.toContain('Zebra Chess Open');
    expect(rows[0]!.payload).not.toContain('tok-at-dispatch-5f3a');

    await knex('games').where({ id: 5 }).update({ token: 'tok-after-dispatch' });

    const stdout = await workGameQueue(app.dir);
    expect(stdout).toMatch(/TestListener.*DONE/);

    const [row] = (await knex('games').where({ id: 5 })) as Array<{ name: string; token: string }>;
    expect(row).toMatchObject({ name: 'Zebra Chess Open', token: 'Tested by Event' });
    // handle() ran once, in the worker process, on a TestEvent holding that process's Game, read after the update.
    const ledger = await ledgerRows();
    expect(ledger.map((entry) => entry.key)).toEqual(['TestListener saw Game 5: tok-after-dispatch']);
    expect(ledger[0]!.pid).not.toBe(process.pid);
    expect(await jobRows()).toEqual([]);
    expect(await failedRows()).toEqual([]);
  });

  it('sync and queued listeners of one event: sync ones run in order before dispatch resolves, each queued one is pushed once per dispatch', async () => {
    await insertGame(3, 'Semi-final', 'tok-3');
    const game = await loadGame(3);

    await MatchFinished.dispatch(game, '3-1');
    // The async UpdateLeaderboard (a 20 ms timer) has finished by the time dispatch resolves.
    expect(eventRecorder.steps).toEqual(['announce 3-1', 'notify 3-1', 'leaderboard 3-1']);
    await MatchFinished.dispatch(game, '4-2');
    expect(eventRecorder.steps.slice(3)).toEqual(['announce 4-2', 'notify 4-2', 'leaderboard 4-2']);

    const rows = await jobRows();
    expect(rows.map((row) => [row.json.displayName, row.queue, row.json.data.command.data])).toEqual([
      ['ArchiveMatch', 'default', { score: '3-1' }],
      ['UpdateStats', 'stats', { score: '3-1' }],
      ['ArchiveMatch', 'default', { score: '4-2' }],
      ['UpdateStats', 'stats', { score: '4-2' }],
    ]);
    for (const row of rows)
      expect(row.json.data.command).toMatchObject({ event: 'MatchFinished', models: gameIdentifier(3) });

    await knex('games').where({ id: 3 }).update({ token: 'tok-3-later' });
    await work(['default', 'stats']);
    expect(eventRecorder.steps.slice(6).sort()).toEqual([
      'archive 3-1 Game 3 tok-3-later',
      'archive 4-2 Game 3 tok-3-later',
      'stats 3-1 Game 3 tok-3-later',
      'stats 4-2 Game 3 tok-3-later',
    ]);
    expect(await jobRows()).toEqual([]);
    expect(await failedRows()).toEqual([]);
  });

  it('a sync listener returning false (class or function) stops the rest: later sync listeners do not run, queued ones are not pushed; a thrown error reaches the caller', async () => {
    // Nobody stops round 1 (the others return null and 0): every listener runs and the queued one is pushed.
    await RoundPlayed.dispatch(1, 'none');
    expect(eventRecorder.steps).toEqual(['first 1', 'halting 1', 'function 1', 'late 1']);
    expect((await jobRows()).map((row) => [row.json.displayName, row.json.data.command.data])).toEqual([
      ['QueuedReferee', { round: 1, halt: 'none' }],
    ]);

    eventRecorder.reset();
    await knex('jobs').delete();
    await RoundPlayed.dispatch(2, 'class');
    expect(eventRecorder.steps).toEqual(['first 2', 'halting 2']);
    await RoundPlayed.dispatch(3, 'function');
    expect(eventRecorder.steps).toEqual(['first 2', 'halting 2', 'first 3', 'halting 3', 'function 3']);
    await expect(RoundPlayed.dispatch(4, 'throw')).rejects.toThrow('referee refused round 4');
    expect(eventRecorder.steps.slice(5)).toEqual(['first 4', 'halting 4']);
    expect(await jobRows()).toEqual([]);

    // The queued referee never ran anywhere either.
    await work();
    expect(eventRecorder.steps.filter((step) => step.startsWith('queued') || step.startsWith('late'))).toEqual([]);
    expect(reported).toEqual([]);
  });

  it("finds a listener's event from handle()'s parameter type, and constructs listeners through the container", async () => {
    const fake = new EventFake();
    fake.assertListening(GoalScored, RecordGoal);
    fake.assertListening(GoalScored, RecordGoalLater);
    fake.assertListening(TestEvent, TestListener);
    expect(() => fake.assertListening(PrizeAwarded, RecordGoal)).toThrow(/does not have the \[RecordGoal\] listener/);

    // A plain class (no Event base), dispatched with dispatchEvent().
    await dispatchEvent(new GoalScored('Ada', 17));
    expect(board().lines).toEqual(["now: Ada 17'"]);
    const rows = await jobRows();
    expect(rows.map((row) => [row.json.displayName, row.queue])).toEqual([['RecordGoalLater', 'default']]);
    expect(rows[0]!.json.data.command).toEqual({
      listener: 'RecordGoalLater',
      event: 'GoalScored',
      data: { player: 'Ada', minute: 17 },
    });

    await work();
    // The same Scoreboard singleton was injected into the listener built on the worker.
    expect(board().lines).toEqual(["now: Ada 17'", "queued: Ada 18'"]);
    expect(eventRecorder.events).toHaveLength(1);
    expect(eventRecorder.events[0]).toBeInstanceOf(GoalScored);
    expect(await failedRows()).toEqual([]);
  });

  it('a worker process whose config has `listeners: [dir]` (no bootstrap) imports the modules under it and runs the queued listener', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-events-listeners-'));
    mkdirSync(path.join(dir, 'listeners/games'), { recursive: true });
    writeFileSync(
      path.join(dir, 'listeners/games/game-events.mjs'),
      `import ${JSON.stringify(pathToFileURL(GAME_EVENTS).href)};\n`,
    );
    // Not a module: discovery must skip it (importing it would throw).
    writeFileSync(path.join(dir, 'listeners/NOTES.txt'), 'these listeners stamp games {\n');
    const config = { default: 'database', connections: { database: connection }, listeners: ['listeners'] };
    writeFileSync(path.join(dir, 'errand.config.mjs'), `export default ${JSON.stringify(config)};\n`);

    await insertGame(6, 'Found by path', 'tok-6');
    await TestEvent.dispatch(await loadGame(6));
    await knex('games').where({ id: 6 }).update({ token: 'tok-6-later' });

    expect(await workGameQueue(dir)).toMatch(/TestListener.*DONE/);
    const [row] = (await knex('games').where({ id: 6 })) as Array<{ token: string }>;
    expect(row!.token).toBe('Tested by Event');
    expect((await ledgerRows()).map((entry) => entry.key)).toEqual(['TestListener saw Game 6: tok-6-later']);
    expect(await failedRows()).toEqual([]);

    const listed = await runCli(['event:list', '--json', '--event', 'TestEvent'], dir);
    expect(listed.stderr).toBe('');
    expect(JSON.parse(listed.stdout)).toEqual([
      {
        event: 'TestEvent',
        listeners: [
          { name: 'TestListener', queued: true, connection: 'database', queue: 'game-queue' },
          { name: 'LogTestEvent', queued: false },
          { name: 'auditTestEvent (function)', queued: false },
        ],
      },
    ]);
  });

  it('shouldQueue() false pushes nothing; viaQueue(), viaConnection() and withDelay() override the options', async () => {
    await insertGame(9, 'Cup', 'tok-9');
    const game = await loadGame(9);
    const startedAt = Math.floor(Date.now() / 1000);

    const nothing = new PrizeAwarded(game, 'nothing', 0);
    await dispatchEvent(nothing);
    await PrizeAwarded.dispatch(game, 'cash', 50);
    await PrizeAwarded.dispatch(game, 'jackpot', 5000);

    const rows = await jobRows();
    const delayOf = (row: JobRow) => Number(row.available_at) - Number(row.created_at);
    expect(rows.map((row) => [row.json.displayName, row.queue, row.json.data.command.data.prize])).toEqual([
      // 'nothing': shouldQueue() said no to PayPrize.
      ['LogPrize', 'prize-log', 'nothing'],
      // viaQueue() 'payouts' beats the options' 'prizes'; withDelay() 0 beats the options' 60 s.
      ['PayPrize', 'payouts', 'cash'],
      ['LogPrize', 'prize-log', 'cash'],
      ['PayPrize', 'payouts', 'jackpot'],
      ['LogPrize', 'prize-log', 'jackpot'],
    ]);
    expect(rows.map(delayOf).map((delay) => Math.round(delay / 10) * 10)).toEqual([30, 0, 30, 120, 30]);
    for (const [i, delay] of [30, 0, 30, 120, 30].entries()) {
      expect(delayOf(rows[i]!)).toBeGreaterThanOrEqual(delay);
      expect(delayOf(rows[i]!)).toBeLessThanOrEqual(delay + 1);
      expect(Number(rows[i]!.available_at)).toBeGreaterThanOrEqual(startedAt + delay);
    }

    // viaConnection() 'inline' (a sync connection): run during each dispatch, on an event rebuilt from its payload.
    expect(eventRecorder.steps).toEqual([
      'inline nothing Game 9 tok-9',
      'inline cash Game 9 tok-9',
      'inline jackpot Game 9 tok-9',
    ]);
    expect(eventRecorder.events).toHaveLength(3);
    expect(eventRecorder.events[0]).toBeInstanceOf(PrizeAwarded);
    expect(eventRecorder.events[0]).not.toBe(nothing);
    expect(new EventFake().assertListening(PrizeAwarded, AnnouncePrizeInline)).toBeUndefined();

    // Only the undelayed payout is due now.
    eventRecorder.reset();
    await work(['payouts', 'prize-log', 'prizes']);
    expect(eventRecorder.steps).toEqual(['pay cash 50']);
    expect((await jobRows()).map((row) => [row.json.displayName, row.json.data.command.data.prize])).toEqual([
      ['LogPrize', 'nothing'],
      ['LogPrize', 'cash'],
      ['PayPrize', 'jackpot'],
      ['LogPrize', 'jackpot'],
    ]);
  });

  it('a queued listener failing both of its tries lands in failed_jobs, and failed(event, error) gets the rebuilt event and the error', async () => {
    await insertGame(11, 'Final', 'tok-11');
    await PaymentDeclined.dispatch(await loadGame(11), 'insufficient funds');
    const [pushed] = await jobRows();
    expect(pushed!.json).toMatchObject({ displayName: 'ChargeAgain', maxTries: 2 });
    await knex('games').where({ id: 11 }).update({ name: 'Final, renamed' });

    await work();
    const message = 'card declined for Final, renamed: insufficient funds';
    expect(eventRecorder.steps).toEqual(['charge Final, renamed', 'charge Final, renamed']);
    expect(eventRecorder.failures).toEqual([
      {
        listener: 'ChargeAgain',
        isEvent: true,
        game: { id: 11, name: 'Final, renamed', isGame: true },
        reason: 'insufficient funds',
        error: message,
      },
    ]);
    const failed = await failedRows();
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ uuid: pushed!.json.uuid, connection: 'database', queue: 'default' });
    expect(JSON.parse(failed[0]!.payload).displayName).toBe('ChargeAgain');
    expect(failed[0]!.exception).toContain(`Error: ${message}`);
    expect(await jobRows()).toEqual([]);
  });

  it('a queued listener with deleteWhenMissingModels is deleted quietly when a model of the event is gone; one without it fails naming the model', async () => {
    await insertGame(21, 'Cancelled cup', 'tok-21');
    await GameCancelled.dispatch(await loadGame(21));
    const pushed = await jobRows();
    expect(pushed.map((row) => [row.json.displayName, row.json.data.command.deleteWhenEventModelsMissing])).toEqual([
      ['ForgetCancelledGame', true],
      ['RefundCancelledGame', undefined],
    ]);
    // Frozen into the payload as a job's option is.
    expect(pushed.map((row) => row.json.deleteWhenMissingModels)).toEqual([true, undefined]);
    await knex('games').where({ id: 21 }).delete();

    await work();
    // Neither handle() ran, nor ForgetCancelledGame's failed().
    expect(eventRecorder.steps).toEqual([]);
    expect(await jobRows()).toEqual([]);
    const failed = await failedRows();
    expect(failed.map((row) => JSON.parse(row.payload).displayName)).toEqual(['RefundCancelledGame']);
    expect(failed[0]!.exception).toContain('ModelNotFoundError: No row found for model [Game] with id 21');
    expect([ForgetCancelledGame, RefundCancelledGame]).toHaveLength(2);
  });

  it('errand event:list prints each event with its listeners, queued ones with the connection and queue they are pushed to, viaConnection()/viaQueue() included (text, --json, --event)', async () => {
    const text = await runCli(['event:list'], app.dir);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n').filter(Boolean)).toEqual([
      '  TestEvent',
      '    ⇂ TestListener (queued on database:game-queue)',
      '    ⇂ LogTestEvent',
      '    ⇂ auditTestEvent (function)',
      '  GameClosed',
      '    ⇂ ArchiveClosedGame (queued on database:default)',
      '  GameRescheduled',
      '    ⇂ MoveRescheduledGame (queued on database:moves)',
      '    ⇂ NotifyRescheduledGame (queued on database:default)',
    ]);

    const json = await runCli(['event:list', '--json'], app.dir);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([
      {
        event: 'TestEvent',
        listeners: [
          { name: 'TestListener', queued: true, connection: 'database', queue: 'game-queue' },
          { name: 'LogTestEvent', queued: false },
          { name: 'auditTestEvent (function)', queued: false },
        ],
      },
      {
        event: 'GameClosed',
        listeners: [{ name: 'ArchiveClosedGame', queued: true, connection: 'database', queue: 'default' }],
      },
      {
        event: 'GameRescheduled',
        listeners: [
          { name: 'MoveRescheduledGame', queued: true, connection: 'database', queue: 'moves' },
          { name: 'NotifyRescheduledGame', queued: true, connection: 'database', queue: 'default' },
        ],
      },
    ]);

    const filtered = await runCli(['event:list', '--json', '--event', 'Closed'], app.dir);
    expect(JSON.parse(filtered.stdout)).toEqual([
      {
        event: 'GameClosed',
        listeners: [{ name: 'ArchiveClosedGame', queued: true, connection: 'database', queue: 'default' }],
      },
    ]);

    // A listener naming no queue is pushed to its connection's configured queue, and listed so.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-events-list-'));
    const config = {
      default: 'database',
      connections: { database: { ...connection, queue: 'main' } },
      bootstrap: [GAME_EVENTS],
    };
    writeFileSync(path.join(dir, 'errand.config.mjs'), `export default ${JSON.stringify(config)};\n`);
    const onMain = await runCli(['event:list', '--event', 'Closed'], dir);
    expect(onMain.stderr).toBe('');
    expect(onMain.stdout.split('\n').filter(Boolean)).toEqual([
      '  GameClosed',
      '    ⇂ ArchiveClosedGame (queued on database:main)',
    ]);
    // viaConnection() names the connection, so its configured queue is the one used; viaQueue() beats the options' queue.
    const rescheduled = await runCli(['event:list', '--event', 'Rescheduled'], dir);
    expect(rescheduled.stderr).toBe('');
    expect(rescheduled.stdout.split('\n').filter(Boolean)).toEqual([
      '  GameRescheduled',
      '    ⇂ MoveRescheduledGame (queued on database:moves)',
      '    ⇂ NotifyRescheduledGame (queued on database:main)',
    ]);
  });
});
