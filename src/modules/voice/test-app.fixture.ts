import { expect } from 'vitest';
import { systemContext } from '../../core/auth/principal.js';
import { startTestApp, type TestApp } from '../../testing/app.js';

/** The voice HTTP tests' app: the regulator's key (`admin`) and two operators, Kcell (range 701) and Beeline (705). */
export interface VoiceApp {
  t: TestApp;
  admin: string;
  kcell: string;
  beeline: string;
}

/** A bearer header for a new key of this operator (created once per name) with these scopes. */
export async function operatorKey(t: TestApp, name: string, scopes: string[]): Promise<string> {
  const ctx = systemContext('test');
  await t.services.auth.ensureOrg(ctx, { name, kind: 'operator' });
  return `Bearer ${(await t.services.auth.createApiKey(ctx, { org: name, scopes })).key}`;
}

export async function startVoiceApp(clock: () => Date): Promise<VoiceApp> {
  const t = await startTestApp({ clock });
  const admin = (await t.keyWith(['*'])).authorization;
  const kcell = await operatorKey(t, 'Kcell', ['voice:screen', 'voice:write']);
  const beeline = await operatorKey(t, 'Beeline', ['voice:screen', 'voice:write']);
  for (const [prefix, operator] of [
    ['701', 'Kcell'],
    ['705', 'Beeline'],
  ]) {
    const res = await t.app.inject({ method: 'PUT', url: `/api/v1/voice/range-holders/${prefix}`, headers: { authorization: admin }, payload: { operator } });
    expect(res.statusCode).toBe(200);
  }
  await t.relayed();
  return { t, admin, kcell, beeline };
}

/** A call from abroad to a Kcell subscriber. */
export const fromAbroad = (callingNumber: string) => ({ callingNumber, calledNumber: '+77017654321', ingress: 'international' });
