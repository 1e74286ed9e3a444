import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lineIO } from '../src/cli/io.js';
import { systemContext } from '../src/core/auth/principal.js';
import { loadDemo } from '../src/demo.js';
import { DEMO_REGISTERED } from '../src/modules/devices/index.js';
import { DEMO_SPOOFED_CLI } from '../src/modules/voice/index.js';
import { startTestApp, type TestApp } from '../src/testing/app.js';

/**
 * The README's "Keys for each journey": each documented `qalqan apikey create` line is created as written, and the
 * journey it is for is walked with that key alone. A line whose scopes are short of its journey fails here.
 */

interface KeyLine {
  org: string;
  name: string;
  scopes: string[];
}

function readmeKeyLines(): KeyLine[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Keys for each journey'), readme.indexOf('## API documentation'));
  return section
    .split('\n')
    .filter((line) => line.startsWith('npx qalqan apikey create'))
    .map((line) => {
      const value = (flag: string) => [...line.matchAll(new RegExp(`--${flag} (?:"([^"]+)"|'([^']+)'|(\\S+))`, 'g'))].map((m) => m[1] ?? m[2] ?? m[3]!);
      return { org: value('org')[0]!, name: value('name')[0]!, scopes: value('scope') };
    });
}

type Step = { method: 'GET' | 'POST' | 'PUT' | 'DELETE'; url: string; body?: unknown; csv?: string };

const imei = DEMO_REGISTERED[0]!;
const today = new Date().toISOString().slice(0, 10);
const STOLEN = '356938035643809';

/** What each documented key is for, as requests; every one must be let through (not 401, not 403). */
const JOURNEYS: Record<string, (ids: Record<string, string>) => Step[]> = {
  'Kcell EIR': () => [{ method: 'GET', url: `/n5g-eir-eic/v1/equipment-status?pei=imei-${imei}` }],
  'Kcell registry sync': () => [
    { method: 'POST', url: '/api/v1/devices/observations', csv: `date,imei,imsi,msisdn,rat\n${today},${imei},401011234567890,+77011234567,4G\n` },
    { method: 'GET', url: '/api/v1/devices/lists/black' },
    { method: 'GET', url: '/api/v1/devices/lists/notification' },
  ],
  'Kcell NOC': (ids) => [
    { method: 'POST', url: '/api/v1/voice/screen', body: { callingNumber: DEMO_SPOOFED_CLI, calledNumber: '+77011234567', ingress: 'international' } },
    { method: 'GET', url: '/metrics' },
    { method: 'GET', url: `/api/v1/voice/policies/${ids.Kcell}` },
    { method: 'GET', url: '/api/v1/voice/trunks' },
    { method: 'GET', url: '/api/v1/voice/stats' },
  ],
  'Kcell feeds': () => [
    { method: 'PUT', url: '/api/v1/voice/roaming', body: [{ msisdn: '+77015550777', roaming: true, country: 'TR' }] },
    { method: 'POST', url: '/api/v1/voice/ported', csv: 'msisdn,operator,portedAt\n+77015550778,Beeline Kazakhstan,2026-11-01\n' },
  ],
  'Cyber unit cases': () => [
    { method: 'POST', url: '/api/v1/devices/stolen', body: { imei: STOLEN, caseNumber: 'KUI-2026-1' } },
    { method: 'GET', url: '/api/v1/devices/trace-alerts' },
    { method: 'DELETE', url: `/api/v1/devices/stolen/${STOLEN}` },
  ],
  'Regulator registry': () => [
    { method: 'POST', url: '/api/v1/devices/tac-imports?mode=delta', csv: 'tac,manufacturer,model_name\n86753004,Xiaomi,Redmi 13\n' },
    { method: 'POST', url: '/api/v1/devices/orders', body: { imei: STOLEN, orderRef: 'ORDER-1' } },
    { method: 'GET', url: '/api/v1/voice/policies/*' },
    { method: 'GET', url: '/api/v1/voice/range-holders' },
  ],
  Prometheus: () => [{ method: 'GET', url: '/metrics' }],
};

let t: TestApp;
const ids: Record<string, string> = {};
beforeAll(async () => {
  t = await startTestApp();
  await loadDemo(
    t.services,
    lineIO(() => undefined),
  );
  for (const org of await t.services.auth.listOrgs(systemContext('test'))) ids[org.name] = org.id;
});
afterAll(() => t.close());

describe('README: a key for each journey', () => {
  const lines = readmeKeyLines();

  it('documents a key for every journey served today, and only those', () => {
    expect(lines.map((l) => l.name).sort()).toEqual(Object.keys(JOURNEYS).sort());
  });

  it.each(lines.map((l) => [l.name, l] as const))('%s: the documented line makes a key that walks its journey', async (_name, line) => {
    const key = await t.services.auth.createApiKey(systemContext('test'), line);
    for (const step of JOURNEYS[line.name]!(ids)) {
      const headers: Record<string, string> = { authorization: `Bearer ${key.key}` };
      if (step.csv !== undefined) headers['content-type'] = 'text/csv';
      const payload = step.csv ?? (step.body === undefined ? undefined : JSON.stringify(step.body));
      if (step.body !== undefined) headers['content-type'] = 'application/json';
      const res = await t.app.inject({ method: step.method, url: step.url, headers, ...(payload === undefined ? {} : { payload }) });
      expect([401, 403], `${line.name}: ${step.method} ${step.url} → ${res.statusCode} ${res.body}`).not.toContain(res.statusCode);
      expect(res.statusCode, `${line.name}: ${step.method} ${step.url} → ${res.body}`).toBeLessThan(500);
    }
  });
});
