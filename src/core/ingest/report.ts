/** What an import reports: rows read, accepted and rejected, the first errors by line, and its outcome. */
export interface RowError {
  line: number;
  message: string;
}

export interface ImportReport {
  rows: number;
  accepted: number;
  rejected: number;
  /** The first errors, by line number (the header is line 1). */
  errors: RowError[];
  committed: boolean;
  /** Why the whole import was refused, when it was. */
  refusal?: string;
  seconds: number;
}

/** A row's parsed value, or why it is rejected. */
export type RowResult<T> = { ok: true; value: T } | { ok: false; error: string };

const MAX_REPORTED_ERRORS = 100;

/** Counts a rejected row into the report, keeping the first errors by line. */
export function rowRejecter(report: ImportReport): (line: number, message: string) => void {
  return (line, message) => {
    report.rejected++;
    if (report.errors.length < MAX_REPORTED_ERRORS) report.errors.push({ line, message });
  };
}

/** Why the whole import is refused by its rows (none, or more malformed than `maxShare` allows), or null. */
export function malformedRefusal(report: ImportReport, maxShare = 0): string | null {
  if (report.rows === 0) return 'the file has no data rows';
  const share = report.rejected / report.rows;
  if (share <= maxShare) return null;
  return `${report.rejected} of ${report.rows} rows are malformed (${(share * 100).toFixed(2)} %), over the allowed ${(maxShare * 100).toFixed(2)} %`;
}
