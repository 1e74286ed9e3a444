import { addDays } from '../src/modules/devices/network/days.js';
import { prng } from './prng.js';

const LINES_PER_CHUNK = 1_000;

export interface ObservationDays {
  rows: number;
  /** (IMEI, IMSI) pairs the rows are drawn from. */
  pairs: number;
  days: number;
  /** The last day (YYYY-MM-DD); the first is `days - 1` before it. */
  today: string;
  seed: number;
}

/**
 * CSV `date,imei,imsi,msisdn,rat`, one day after the other (oldest first), in chunks of 1,000 lines. Each row's pair
 * is drawn at random from the pairs, so a pair recurs on several days and its first/last seen move forward; `line`
 * writes the row of pair `p` on `date` (with its newline).
 */
export function* observationsByDay(o: ObservationDays, line: (p: number, date: string) => string): Generator<string> {
  const random = prng(o.seed);
  let chunk = 'date,imei,imsi,msisdn,rat\n';
  let lines = 0;
  for (let day = 0; day < o.days; day++) {
    const date = addDays(o.today, day - (o.days - 1));
    const end = Math.floor(((day + 1) * o.rows) / o.days);
    for (let k = Math.floor((day * o.rows) / o.days); k < end; k++) {
      chunk += line(Math.floor(random() * o.pairs), date);
      if (++lines === LINES_PER_CHUNK) {
        yield chunk;
        chunk = '';
        lines = 0;
      }
    }
  }
  if (chunk) yield chunk;
}
