import type { ColumnType } from 'kysely';

/** Column types shared by every module's tables. */
export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
export type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** A `date` column, read and written as `YYYY-MM-DD`. */
export type DateOnly = ColumnType<string, string, string>;
