// Calendar days of network data ('YYYY-MM-DD'). Kazakhstan keeps one time zone, UTC+5, so "today" is its date there.
const KZ_OFFSET_MS = 5 * 3_600_000;
const DAY_MS = 86_400_000;

/** The calendar day in Kazakhstan at the instant `at`. */
export function kzDay(at: Date): string {
  return new Date(at.getTime() + KZ_OFFSET_MS).toISOString().slice(0, 10);
}

export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}
