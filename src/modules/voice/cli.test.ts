import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../core/auth/principal.js';
import { startTestApp, type TestApp } from '../../testing/app.js';
import type { CliIO } from '../../cli/io.js';
import { voiceCommands } from './index.js';

let t: TestApp;
const dir = mkdtempSync(join(tmpdir(), 'qalqan-voice-cli-'));

async function qalqan(...argv: string[]): Promise<{ out: string[]; err: string[]; failure: unknown }> {
  const result = { out: [] as string[], err: [] as string[], failure: null as unknown };
  const io: CliIO = { out: (l) => result.out.push(l), err: (l) => result.err.push(l), progress: () => ({ update: () => undefined, stop: () => undefined }) };
  const program = new Command('qalqan').exitOverride().configureOutput({ writeErr: () => undefined });
  voiceCommands(program, io, (fn) => fn(t.services));
  await program.parseAsync(argv, { from: 'user' }).catch((err: unknown) => (result.failure = err));
  return result;
}

beforeAll(async () => {
  t = await startTestApp();
  await t.services.auth.ensureOrg(systemContext('test'), { name: 'Beeline', kind: 'operator' });
  await t.services.auth.ensureOrg(systemContext('test'), { name: 'Kcell', kind: 'operator' });
  await t.services.voice.reference.putRangeHolder(systemContext('test'), '701', 'Kcell');
});
afterAll(() => t.close());

describe('qalqan import ported', () => {
  it('imports ported numbers, and as an operator refuses numbers it does not hold, with line numbers', async () => {
    const file = join(dir, 'ported.csv');
    writeFileSync(file, 'msisdn,operator,portedAt\n+77011110001,Beeline,2026-10-01\n87011110002,Kcell,2026-10-02\n');
    const ok = await qalqan('import', 'ported', file);
    expect(ok.out[0]).toMatch(/^2 of 2 ported numbers imported in/);
    // +77011110001 is Beeline's now: Kcell (its range holder) cannot take it back; Beeline records the port back.
    const back = join(dir, 'back.csv');
    writeFileSync(back, 'msisdn,operator,portedAt\n+77011110001,Kcell,2026-11-01\n');
    const refused = await qalqan('import', 'ported', back, '--operator', 'Kcell');
    expect(refused.err).toEqual(['line 2: the number is held by another operator: an operator records only ports of numbers it holds']);
    expect(String(refused.failure)).toMatch(/nothing imported/);
    expect((await qalqan('import', 'ported', back, '--operator', 'Beeline')).out[0]).toMatch(/^1 of 1 ported numbers imported in/);
    expect(await t.services.voice.reference.portedCount()).toBe(2);
  });
});
