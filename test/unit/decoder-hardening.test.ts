import 'reflect-metadata';

import { Type } from 'class-transformer';
import { container } from 'tsyringe';
import { describe, expect, it } from 'vitest';

import { Inject } from '../../src/decorators/inject.js';
import { Job } from '../../src/decorators/job.js';
import { Model } from '../../src/decorators/model.js';
import { KnexModelResolver } from '../../src/drivers/database/knex-model-resolver.js';
import { BindingResolutionError } from '../../src/errors/binding-resolution-error.js';
import { PayloadError } from '../../src/errors/payload-error.js';
import { resolveHandleArguments } from '../../src/execution/resolve-handle-arguments.js';
import { Queueable } from '../../src/job/queueable.js';
import { parsePayload } from '../../src/payload/decode-payload.js';
import { encodePayload } from '../../src/payload/encode-payload.js';
// Registers the built-in knex model resolver, as loading errand's public entry does.
import '../../src/runtime/boot.js';

@Model({ table: 'hardening_boards', name: 'HardeningBoard' })
class Board {
  constructor(public id: number | null) {}
}

@Job({ name: 'HardeningHolder' })
class Holder extends Queueable {
  constructor(public boards: unknown[]) {
    super();
  }
  async handle() {}
}

class Coin {
  constructor(amount?: number) {
    if (amount === undefined) throw new Error('amount required');
  }
}

@Job({ name: 'HardeningCoinJob' })
class CoinJob extends Queueable {
  @Type(() => Coin) coin = new Coin(5);
  async handle() {}
}

@Job({ name: 'HardeningMapJob' })
class MapJob extends Queueable {
  @Type(() => String) scores = new Map<unknown, string>([[1, 'a']]);
  async handle() {}
}

class FlakyService {}

@Job({ name: 'HardeningFactoryJob' })
class FactoryJob extends Queueable {
  @Inject()
  async handle(_service: FlakyService) {}
}

const payloadWith = (data: string) =>
  `{"uuid":"00000000-0000-4000-8000-000000000001","job":"errand:CallQueuedHandler@call","data":{"commandName":"HardeningHolder","command":{},${data}}}`;

describe('the decoder cannot be talked past', () => {
  it('refuses forbidden keys spelled with JSON escapes, in models as in the command', () => {
    expect(() =>
      parsePayload(
        payloadWith('"models":{"\\u005f_proto__":{"class":"HardeningBoard","id":1,"relations":[],"connection":null}}'),
      ),
    ).toThrow('The payload holds the forbidden key [__proto__] at payload.data.models.__proto__');
    const command =
      '{"uuid":"00000000-0000-4000-8000-000000000001","job":"errand:CallQueuedHandler@call","data":{"commandName":"HardeningHolder","command":{"prot\\u006ftype":{"x":1}}}}';
    expect(() => parsePayload(command)).toThrow('forbidden key [prototype] at payload.data.command.prototype');
  });

  it('checks the collection flag of a model identifier', () => {
    expect(() =>
      parsePayload(
        payloadWith('"models":{"boards":{"class":"HardeningBoard","id":[1],"relations":[],"collection":"no"}}'),
      ),
    ).toThrow('malformed model identifier at data.models.boards: collection must be true or false.');
    const parsed = parsePayload(payloadWith('"models":{"boards":{"class":"HardeningBoard","id":[1],"relations":[]}}'));
    expect(parsed.data.models?.boards?.connection).toBeNull();
  });

  it('refuses a relation name that is only inherited (toString, constructor) as malformed, before any query', async () => {
    let queried = false;
    const resolver = new KnexModelResolver(() => {
      queried = true;
      throw new Error('no database in this test');
    });
    for (const relation of ['toString', 'constructor', 'hasOwnProperty']) {
      const loading = resolver.load({ class: 'HardeningBoard', ids: [1], relations: [relation], connection: null });
      await expect(loading).rejects.toBeInstanceOf(PayloadError);
      await expect(loading).rejects.toThrow(`Model [HardeningBoard] has no relation [${relation}]`);
    }
    expect(queried).toBe(false);
  });
});

describe('dispatch-time checks the review asked for', () => {
  it('treats an array as models when any element is one, naming the element that is not', () => {
    expect(() => encodePayload(new Holder([null, new Board(1)]), {})).toThrow(
      'Job HardeningHolder cannot be queued: property boards mixes HardeningBoard models with something that is not a model at [0]; an array of models must hold one class.',
    );
    const payload = encodePayload(new Holder([new Board(2), new Board(1)]), {});
    expect(payload.data.models).toEqual({
      boards: { class: 'HardeningBoard', id: [2, 1], relations: [], connection: null, collection: true },
    });
  });

  it('refuses a Map whose keys would come back as strings', () => {
    expect(() => encodePayload(new MapJob(), {})).toThrow(
      'Job HardeningMapJob cannot be queued: property scores holds a Map with the number key 1, which would come back as a string; use string keys.',
    );
  });

  it('names the job when its typed data cannot be rebuilt as a worker would rebuild it', () => {
    expect(() => encodePayload(new CoinJob(), {})).toThrow(
      'Job HardeningCoinJob cannot be queued: its data could not be restored as a worker would restore it: amount required',
    );
  });
});

describe('what counts as a missing binding', () => {
  it("lets an error thrown by a registered factory through as the job's own exception (it is retried)", () => {
    const scope = container.createChildContainer();
    scope.register(FlakyService, {
      useFactory: () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      },
    });
    let thrown: unknown;
    try {
      resolveHandleArguments(new FactoryJob(), 'HardeningFactoryJob', () => scope);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).not.toBeInstanceOf(BindingResolutionError);
    expect((thrown as Error).message).toBe('connect ECONNREFUSED 127.0.0.1:6379');
  });

  it('calls a type tsyringe cannot build a missing binding', () => {
    class NeedsUrl {
      constructor(readonly url: string) {}
    }
    @Job({ name: 'HardeningNeedsUrlJob' })
    class NeedsUrlJob extends Queueable {
      @Inject()
      async handle(_service: NeedsUrl) {}
    }
    expect(() =>
      resolveHandleArguments(new NeedsUrlJob(), 'HardeningNeedsUrlJob', () => container.createChildContainer()),
    ).toThrow(BindingResolutionError);
    expect(() =>
      resolveHandleArguments(new NeedsUrlJob(), 'HardeningNeedsUrlJob', () => container.createChildContainer()),
    ).toThrow('HardeningNeedsUrlJob.handle() parameter 1 (NeedsUrl) could not be resolved from the container:');
  });
});
