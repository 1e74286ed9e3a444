import { sql } from 'kysely';
import type { Executor } from './database.js';

/**
 * Takes or renews the named lease for `holder` until `seconds` from now; true when this holder has it. Another
 * holder gets it only once it has expired, so a crashed instance's work moves on after at most `seconds`.
 */
export async function takeLease(db: Executor, name: string, holder: string, seconds: number): Promise<boolean> {
  const { rows } = await sql<{ holder: string }>`
    insert into core_leases as l (name, holder, until) values (${name}, ${holder}, now() + make_interval(secs => ${seconds}))
    on conflict (name) do update set holder = excluded.holder, until = excluded.until
    where l.until < now() or l.holder = excluded.holder
    returning holder`.execute(db);
  return rows.length === 1;
}

export async function releaseLease(db: Executor, name: string, holder: string): Promise<void> {
  await db.deleteFrom('core_leases').where('name', '=', name).where('holder', '=', holder).execute();
}
