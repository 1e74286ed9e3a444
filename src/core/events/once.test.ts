import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/database.js';
import type { QalqanEvent } from './bus.js';
import { handleOnce } from './once.js';
import { createOutbox } from './outbox.js';

let database: TestDatabase;
const outbox = createOutbox({ ids: randomUUID, clock: () => new Date() });

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.close();
});

async function rows() {
  return database.db.selectFrom('core_outbox').select(['payload']).where('topic', '=', 'test.effect.done').orderBy('seq').execute();
}

describe('handleOnce', () => {
  const ev = (): QalqanEvent => ({ id: randomUUID(), topic: 'test.thing.created', payload: {}, occurredAt: new Date().toISOString(), seq: '1' });

  it('runs the side effect once for a redelivered event id', async () => {
    const event = ev();
    let effects = 0;
    const effect = async () => {
      effects++;
    };
    expect(await handleOnce(database.db, 'consumer-a', event, effect)).toBe(true);
    expect(await handleOnce(database.db, 'consumer-a', { ...event }, effect)).toBe(false);
    expect(await handleOnce(database.db, 'consumer-a', { ...event, seq: '2' }, effect)).toBe(false);
    expect(effects).toBe(1);

    // Another consumer handles the same event on its own; another event is handled too.
    expect(await handleOnce(database.db, 'consumer-b', event, effect)).toBe(true);
    expect(await handleOnce(database.db, 'consumer-a', ev(), effect)).toBe(true);
    expect(effects).toBe(3);
  });

  it('commits the side effect and the record together: a failed handler leaves the event to be handled again', async () => {
    const event = ev();
    await expect(
      handleOnce(database.db, 'consumer-a', event, async (trx) => {
        await outbox.add(trx, 'test.effect.done', { attempt: 1 });
        throw new Error('handler failed');
      }),
    ).rejects.toThrow('handler failed');
    expect(await rows()).toHaveLength(0);

    expect(
      await handleOnce(database.db, 'consumer-a', event, async (trx) => {
        await outbox.add(trx, 'test.effect.done', { attempt: 2 });
      }),
    ).toBe(true);
    expect(
      await handleOnce(database.db, 'consumer-a', event, async (trx) => {
        await outbox.add(trx, 'test.effect.done', { attempt: 3 });
      }),
    ).toBe(false);
    expect((await rows()).map((r) => r.payload)).toEqual([{ attempt: 2 }]);
  });
});
