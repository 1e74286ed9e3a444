import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { toImei15 } from '../src/identifiers/imei.js';
import { observationsByDay } from './observations.js';

/** Registered IMEIs are spread over these TACs (interleaved, as a mixed shipment would be): up to 8 M IMEIs. */
const REG_TACS = ['35332811', '35290611', '86753003', '35875309', '35407115', '86891204', '35925406', '35328115'];
export const MAX_REGISTRATIONS = REG_TACS.length * 1_000_000;
/** A TAC in the database under which nothing is registered: devices seen with it are unregistered. */
const UNREG_TAC = '35332999';
/** A TAC that is not in the database at all. */
const UNKNOWN_TAC = '86999999';
/** Each (IMEI, IMSI) pair appears on about this many of the 30 days. */
const REPEATS = 10;
const DAYS = 30;
/** Lines per chunk of the generated text (≈ 40–60 KB). */
const LINES_PER_CHUNK = 1_000;

/** The GSMA TAC file (pipe-delimited) with every TAC the registrations use and one with nothing registered. */
export const TAC_FILE = ['tac|manufacturer|model_name|bands|allocation_date|device_type']
  .concat(REG_TACS.map((tac, i) => `${tac}|Bench|Model ${i + 1}|GSM 900/1800, LTE, NR|2023-01-01|Smartphone`))
  .concat([`${UNREG_TAC}|Bench|Unregistered model|GSM 900/1800, LTE|2023-01-01|Smartphone`])
  .join('\n')
  .concat('\n');

/** Registered IMEI number i (14 digits, TAC + SNR). */
function regImei14(i: number): string {
  return REG_TACS[i % REG_TACS.length]! + String(Math.floor(i / REG_TACS.length)).padStart(6, '0');
}

/** CSV `imei,reference` of `count` registrations (15-digit IMEIs with their check digit). */
function* registrationsCsv(count: number): Generator<string> {
  let chunk = 'imei,reference\n';
  let lines = 0;
  for (let i = 0; i < count; i++) {
    chunk += `${toImei15(regImei14(i))},DT-BENCH-${Math.floor(i / 10_000)}\n`;
    if (++lines === LINES_PER_CHUNK) {
      yield chunk;
      chunk = '';
      lines = 0;
    }
  }
  if (chunk) yield chunk;
}

/**
 * Pairs and devices behind `rows` observation rows: each pair is seen on ~REPEATS days; 95 % of pairs are the only
 * SIM in their device, the other 5 % a second SIM in one of them.
 */
export function observationShape(rows: number): { pairs: number; devices: number } {
  const pairs = Math.max(1, Math.round(rows / REPEATS));
  return { pairs, devices: Math.max(1, Math.ceil(pairs * 0.95)) };
}

/** Device d's IMEI (14 digits): 80 % registered, 15 % under a known TAC but unregistered, 5 % under an unknown TAC. */
function deviceImei14(d: number, registered: number): string {
  const r = d % 20;
  if (r < 16 && registered > 0) return regImei14(d % registered);
  return (r === 19 ? UNKNOWN_TAC : UNREG_TAC) + String(d % 1_000_000).padStart(6, '0');
}

const RATS = ['LTE', 'NR', 'LTE', 'UMTS', 'GSM'];

/**
 * CSV `date,imei,imsi,msisdn,rat` over the 30 days up to `today`, oldest first. A row's pair is drawn at random, so a
 * pair recurs on ~REPEATS days and its first/last seen move forward. IMEIs carry a spare trailing 0, as networks send
 * them; IMSIs are Kcell's (401 02); 5 % of rows have no MSISDN.
 */
function observationsCsv(rows: number, registered: number, today: string): Generator<string> {
  const { pairs, devices } = observationShape(rows);
  return observationsByDay({ rows, pairs, days: DAYS, today, seed: 20261130 }, (p, date) => {
    const device = p < devices ? p : p - devices;
    const msisdn = p % 20 === 7 ? '' : `+7701${String(p % 10_000_000).padStart(7, '0')}`;
    return `${date},${deviceImei14(device, registered)}0,40102${String(p).padStart(10, '0')},${msisdn},${RATS[p % RATS.length]}\n`;
  });
}

export const writeRegistrations = (path: string, count: number) => pipeline(Readable.from(registrationsCsv(count)), createWriteStream(path));

/** `rows` observations of devices of which 80 % are among the first `registered` registrations. */
export const writeObservations = (path: string, rows: number, registered: number, today: string) =>
  pipeline(Readable.from(observationsCsv(rows, registered, today)), createWriteStream(path));
