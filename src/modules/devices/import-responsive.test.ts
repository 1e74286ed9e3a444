import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actingFor, systemContext } from '../../core/auth/principal.js';
import { startTestApp, type TestApp } from '../../testing/app.js';

let t: TestApp;
let eir: string;
beforeAll(async () => {
  t = await startTestApp();
  eir = (await t.keyWith(['devices:check'], 'Kcell', 'operator')).authorization;
});
afterAll(() => t.close());

/** `rows` observation rows from memory: the fastest source there is, which never waits for a disk or a socket. */
function observations(rows: number): Readable {
  let text = 'date,imei,imsi,msisdn,rat\n';
  for (let i = 0; i < rows; i++) text += `2026-12-01,35332811${String(i).padStart(6, '0')}0,40102${String(i).padStart(10, '0')},,LTE\n`;
  return Readable.from([Buffer.from(text)]);
}

describe('the EIR during an observations import on the same process', () => {
  it('answers while the import is still running', async () => {
    const kcell = await t.services.auth.getOrg('Kcell');
    let done = false;
    let asked: Promise<{ status: number; importRunning: boolean }> | null = null;
    const report = t.services.devices.network
      .importObservations(actingFor(systemContext('test'), kcell), {
        operator: 'Kcell',
        input: observations(25_000),
        onProgress: () => {
          asked ??= t.app
            .inject({ method: 'GET', url: '/n5g-eir-eic/v1/equipment-status?pei=imei-353328110000000', headers: { authorization: eir } })
            .then((res) => ({ status: res.statusCode, importRunning: !done }));
        },
      })
      .finally(() => (done = true));
    expect((await report).committed).toBe(true);
    expect(asked).not.toBeNull();
    // The EIR's answer for a device it does not know (the import's devices are classified after its commit).
    expect(await asked).toEqual({ status: 404, importRunning: true });
  });
});
