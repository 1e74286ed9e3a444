import { sql } from 'kysely';
import type { DevicesDb } from '../tables.js';

/** What the database knows about one IMEI, for the EIR decision. */
export interface ImeiFacts {
  imei14: string;
  registered: boolean;
  stolen: boolean;
  ordered: boolean;
  classified: 'white' | 'grey' | 'black' | null;
  /** Classification reasons (empty when unclassified) and the grey-list deadline. */
  reasons: string[];
  deadline: string | null;
}

const PAGE = 50_000;

/** What the EIR reads: the snapshot its in-memory index is built from, and the facts behind a status. */
export function eirRepository(db: DevicesDb) {
  return {
    async allTacs(): Promise<string[]> {
      return (await db.selectFrom('devices_tac').select('tac').execute()).map((r) => r.tac);
    },
    async allPairings(): Promise<{ imei14: string; imsi: string }[]> {
      return db.selectFrom('devices_pairings').select(['imei14', 'imsi']).execute();
    },
    async facts(imei14s: string[]): Promise<ImeiFacts[]> {
      if (!imei14s.length) return [];
      const { rows } = await sql<ImeiFacts>`
        select i.imei14,
               r.imei14 is not null as registered,
               s.imei14 is not null as stolen,
               o.imei14 is not null as ordered,
               c.status as classified,
               coalesce(c.reasons, '{}') as reasons,
               c.deadline::text as deadline
        from unnest(${imei14s}::text[]) as i(imei14)
        left join devices_registrations r on r.imei14 = i.imei14
        left join devices_stolen s on s.imei14 = i.imei14
        left join devices_orders o on o.imei14 = i.imei14
        left join devices_classification c on c.imei14 = i.imei14`.execute(db);
      return rows;
    },
    /** Every IMEI with a status, one table at a time in keyset pages (constant memory): registrations, classification, stolen, orders. */
    async *statusSources(): AsyncGenerator<{ table: 'registrations' | 'classification' | 'stolen' | 'orders'; imei14: string; status: string | null }> {
      for (const table of ['registrations', 'classification', 'stolen', 'orders'] as const) {
        let after = '';
        for (;;) {
          const rows =
            table === 'classification'
              ? await db
                  .selectFrom('devices_classification as c')
                  .select(['c.imei14', 'c.status'])
                  .where('c.imei14', '>', after)
                  // A registration beats grey (registrations come first, so a grey row of a registered IMEI is left out).
                  .where((eb) =>
                    eb.or([
                      eb('c.status', '!=', 'grey'),
                      eb.not(eb.exists(eb.selectFrom('devices_registrations as r').select('r.imei14').whereRef('r.imei14', '=', 'c.imei14'))),
                    ]),
                  )
                  .orderBy('c.imei14')
                  .limit(PAGE)
                  .execute()
              : await db
                  .selectFrom(`devices_${table}`)
                  .select(['imei14', sql<null>`null`.as('status')])
                  .where('imei14', '>', after)
                  .orderBy('imei14')
                  .limit(PAGE)
                  .execute();
          for (const r of rows) yield { table, imei14: r.imei14, status: r.status };
          if (rows.length < PAGE) break;
          after = rows[rows.length - 1]!.imei14;
        }
      }
    },
  };
}

export type EirRepository = ReturnType<typeof eirRepository>;
