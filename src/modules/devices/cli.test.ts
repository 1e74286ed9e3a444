import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { imeiOf } from '../../testing/imei.js';
import { lineIO } from '../../cli/io.js';
import { runCommand } from '../../cli/run.js';

let t: TestApp;
const dir = mkdtempSync(join(tmpdir(), 'qalqan-devices-cli-'));
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

async function qalqan(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCommand(
    argv,
    lineIO((kind, line) => (kind === 'out' ? out : err).push(line)),
    (fn) => fn(t.services),
  );
  return { code, out, err };
}

function file(name: string, text: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('qalqan import (devices)', () => {
  it('import tac: full, then --delta; progress and a summary with rows/s', async () => {
    const full = await qalqan(
      'import',
      'tac',
      file('tac.txt', 'tac|manufacturer|model_name|bands\n35332811|Apple|iPhone 14|LTE\n35290611|Samsung|Galaxy S23|LTE\n'),
    );
    expect(full.code).toBe(0);
    expect(full.out.at(-1)).toMatch(/^2 of 2 TACs imported in [\d.]+ s \(\d+ rows\/s\); 0 rejected$/);
    expect(full.err.at(-1)).toMatch(/^TAC: 0\.0 of 0\.0 MiB, 2 rows, [\d,]+ rows\/s$/);
    const delta = await qalqan('import', 'tac', file('delta.csv', 'tac,manufacturer,model_name\n86753003,Xiaomi,Redmi\n'), '--delta');
    expect(delta.code).toBe(0);
    expect((await t.services.devices.registry.getTac('35332811')).modelName).toBe('iPhone 14');
    expect((await t.services.devices.registry.getTac('86753003')).manufacturer).toBe('Xiaomi');
  });

  it('import registrations: rejected rows by line; a wrong header stops with the reason', async () => {
    await t.services.auth.ensureOrg(
      { principal: { kind: 'system', id: 's', label: 't', orgId: null, orgKind: null, scopes: ['*'] }, requestId: null, ip: null },
      { name: 'Importer', kind: 'regulator' },
    );
    const rows = `imei,reference\n${imeiOf('35332811', 7)},DT-1\n${imeiOf('99999999', 1)},DT-1\n`;
    const res = await qalqan('import', 'registrations', file('reg.csv', rows), '--org', 'Importer');
    expect(res.code).toBe(0);
    expect(res.err).toContain('line 3: TAC_UNKNOWN: the TAC (first 8 digits) is not in the TAC database');
    expect(res.out.at(-1)).toMatch(/^1 of 2 registrations imported/);
    const bad = await qalqan('import', 'registrations', file('bad.csv', 'serial\n1\n'), '--org', 'Importer');
    expect(bad.code).toBe(1);
    expect(bad.err.join('\n')).toContain('line 1: the header lacks column(s) imei, reference');
  });

  it('import stolen: blocks every listed IMEI; a file with too many bad rows changes nothing', async () => {
    const ok = await qalqan('import', 'stolen', file('gsma.csv', `imei\n${imeiOf('35290611', 1)}\n${imeiOf('35290611', 2)}\n`), '--source', 'gsma');
    expect(ok.code).toBe(0);
    const refused = await qalqan('import', 'stolen', file('junk.csv', `imei\n${imeiOf('35290611', 3)}\nxyz\n`), '--source', 'kg');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('line 3: imei: not_digits');
    const rows = await t.database.db.selectFrom('devices_stolen').select(['imei14', 'source']).execute();
    expect(rows.map((r) => r.source).sort()).toEqual(['gsma', 'gsma']);
  });

  it('imports a gzip-compressed file (.gz) as it is', async () => {
    const res = await qalqan('import', 'stolen', file('ua.csv.gz', gzipSync(`imei\n${imeiOf('35290611', 4)}\n`)), '--source', 'ua');
    expect(res.code).toBe(0);
    expect(res.out.at(-1)).toMatch(/^1 of 1 stolen IMEIs imported/);
    const rows = await t.database.db.selectFrom('devices_stolen').select('source').where('source', '=', 'ua').execute();
    expect(rows).toHaveLength(1);
  });
});
