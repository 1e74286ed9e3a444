import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIO } from '../../cli/io.js';
import { createTestDatabase, type TestDatabase } from '../../testing/database.js';
import { devicesCommands, type DevicesCommandServices } from './cli.js';
import { imei14, kzImsi, msisdn, networkFixture } from './network/fixtures.js';

let f: Awaited<ReturnType<typeof networkFixture<TestDatabase>>>;
const dir = mkdtempSync(join(tmpdir(), 'qalqan-network-cli-'));

async function qalqan(...argv: string[]): Promise<{ out: string[]; err: string[]; progress: number[] }> {
  const result = { out: [] as string[], err: [] as string[], progress: [] as number[] };
  const io: CliIO = {
    out: (l) => result.out.push(l),
    err: (l) => result.err.push(l),
    progress: () => ({ update: (n) => result.progress.push(n), stop: () => undefined }),
  };
  const program = new Command('qalqan').exitOverride().configureOutput({ writeErr: () => undefined });
  devicesCommands(program, io, (fn) => fn({ devices: { network: f.service } } as unknown as DevicesCommandServices));
  await program.parseAsync(argv, { from: 'user' });
  return result;
}

beforeAll(async () => {
  f = await networkFixture(await createTestDatabase(), '2026-03-10');
  await f.seed.org('Tele2', 'operator');
});
afterAll(async () => f.database.close());

describe('qalqan import observations / classify / lists export', () => {
  it('imports a file with byte progress, classifies, and exports the lists', async () => {
    const file = join(dir, 'obs.csv');
    writeFileSync(file, ['date,imei,imsi,msisdn,rat', `2026-03-09,${imei14(1)}0,${kzImsi(1)},${msisdn(1)},4G`].join('\n') + '\n');
    const imported = await qalqan('import', 'observations', file, '--operator', 'Tele2');
    expect(imported.out[0]).toMatch(/^1 of 1 rows imported .*1 new IMEI–IMSI pairs, 0 trace alerts$/);
    expect(imported.out[1]).toMatch(/^classified 1 devices: 0 white, 1 grey, 0 black, 1 changed; lists \+1 −0$/);
    expect(imported.progress.at(-1)).toBe(readFileSync(file).length);

    expect((await qalqan('classify')).out[0]).toMatch(/^classified 1 devices: .* 0 changed/);

    const shown = await qalqan('lists', 'export', '--operator', 'Tele2', '--kind', 'notification');
    expect(shown.out).toEqual(['imei,imsi,msisdn,reason', expect.stringContaining(kzImsi(1))]);
    const out = join(dir, 'delta.csv');
    const written = await qalqan('lists', 'export', '--operator', 'Tele2', '--kind', 'notification', '--since', '0', '--out', out);
    expect(written.out[0]).toMatch(/^notification list version \d+ written to /);
    expect(readFileSync(out, 'utf8')).toMatch(/^change,imei,imsi,msisdn,reason,version\nadd,/);
  });

  it('prints the errors by line and fails when the file is refused', async () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'date,imei,imsi,msisdn,rat\n2026-03-09,1,2,3,4\n');
    const failed = qalqan('import', 'observations', file, '--operator', 'Tele2', '--max-malformed', '0.5');
    await expect(failed).rejects.toThrow(/nothing imported: 1 of 1 rows are malformed/);
    await expect(qalqan('import', 'observations', file, '--operator', 'Tele2', '--max-malformed', '2')).rejects.toThrow(/between 0 and 1/);
  });
});
