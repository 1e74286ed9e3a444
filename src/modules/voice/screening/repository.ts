import { sql, type Kysely } from 'kysely';
import type { VoiceTables } from '../tables.js';
import type { Reason } from './schema.js';

export interface PolicyRecord {
  operatorId: string;
  block: Reason[];
  flag: Reason[];
  enabled: boolean;
  updatedAt: Date;
}

export interface StatsIncrement {
  day: string;
  operatorId: string;
  verdict: string;
  reason: string;
  calls: number;
}

const asArray = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? (JSON.parse(v) as string[]) : []);

/** Queries of screening: policies per receiving operator, and calls per day. */
export function screeningRepository(db: Kysely<VoiceTables>) {
  return {
    async policies(): Promise<PolicyRecord[]> {
      const rows = await db.selectFrom('voice_policies').selectAll().execute();
      return rows.map((r) => ({
        operatorId: r.operator_id,
        block: asArray(r.block_reasons) as Reason[],
        flag: asArray(r.flag_reasons) as Reason[],
        enabled: r.enabled,
        updatedAt: r.updated_at,
      }));
    },

    async putPolicy(p: { operatorId: string; block: Reason[]; flag: Reason[]; enabled: boolean }): Promise<void> {
      const values = { operator_id: p.operatorId, block_reasons: JSON.stringify(p.block), flag_reasons: JSON.stringify(p.flag), enabled: p.enabled };
      await db
        .insertInto('voice_policies')
        .values(values)
        .onConflict((oc) =>
          oc
            .column('operator_id')
            .doUpdateSet({ block_reasons: values.block_reasons, flag_reasons: values.flag_reasons, enabled: values.enabled, updated_at: sql`now()` }),
        )
        .execute();
    },

    async addStats(rows: StatsIncrement[]): Promise<void> {
      if (!rows.length) return;
      await db
        .insertInto('voice_stats_daily')
        .values(rows.map((r) => ({ day: r.day, operator_id: r.operatorId, verdict: r.verdict, reason: r.reason, calls: r.calls })))
        .onConflict((oc) => oc.columns(['day', 'operator_id', 'verdict', 'reason']).doUpdateSet({ calls: sql`voice_stats_daily.calls + excluded.calls` }))
        .execute();
    },

    async stats(from: string, to: string, operatorId: string | null): Promise<StatsIncrement[]> {
      let q = db
        .selectFrom('voice_stats_daily')
        .select(['day', 'verdict', 'reason', (eb) => eb.fn.sum<string>('calls').as('calls')])
        .where('day', '>=', from)
        .where('day', '<=', to);
      if (operatorId) q = q.where('operator_id', '=', operatorId);
      const rows = await q.groupBy(['day', 'verdict', 'reason']).orderBy('day').execute();
      return rows.map((r) => ({ day: String(r.day), operatorId: operatorId ?? '*', verdict: r.verdict, reason: r.reason, calls: Number(r.calls) }));
    },
  };
}

export type ScreeningRepository = ReturnType<typeof screeningRepository>;
