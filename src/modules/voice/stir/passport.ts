import { parseMsisdn } from '../../../identifiers/msisdn.js';
import type { Attestation } from '../screening/schema.js';

/** The protected header of a SHAKEN PASSporT (RFC 8225 §5, RFC 8588), keys in the canonical (lexicographic) order. */
export type PassportHeader = {
  alg: 'ES256';
  ppt: 'shaken';
  typ: 'passport';
  x5u: string;
};

/** SHAKEN PASSporT claims (RFC 8588 §6); telephone numbers are canonical digits without '+'. */
export interface PassportPayload {
  attest: Attestation;
  dest: { tn: string[] };
  iat: number;
  orig: { tn: string };
  origid: string;
}

const ATTESTATIONS: readonly Attestation[] = ['A', 'B', 'C'];

const MAX_HEADER_LENGTH = 8192;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const PARAM = /\s*;\s*([A-Za-z0-9._!%*+`'~-]+)\s*=\s*(<[^>]*>|"[^"]*"|[^;\s<>"]+)/;

/** A telephone number in the canonical form of RFC 8224 §8.3: E.164 digits without '+'; null when not a number. */
export function canonicalTn(input: string): string | null {
  const parsed = parseMsisdn(input);
  return parsed.ok ? parsed.e164.slice(1) : null;
}

export function passportHeader(x5u: string): PassportHeader {
  return { alg: 'ES256', ppt: 'shaken', typ: 'passport', x5u };
}

export function passportPayload(claims: { attest: Attestation; orig: string; dest: string; iat: number; origid: string }): PassportPayload {
  return { attest: claims.attest, dest: { tn: [claims.dest] }, iat: claims.iat, orig: { tn: claims.orig }, origid: claims.origid };
}

/** The SIP Identity header value (RFC 8224 §4): the full-form PASSporT with its info, alg and ppt parameters. */
export function identityHeader(jws: string, x5u: string): string {
  return `${jws};info=<${x5u}>;alg=ES256;ppt=shaken`;
}

export interface ParsedIdentity {
  jws: string;
  /** Parameters by lower-case name; `info` without its angle brackets, quoted values without their quotes. */
  params: Map<string, string>;
}

/** Splits an Identity header value into the full-form PASSporT and its parameters; null when it is not one. */
export function parseIdentityHeader(value: string): ParsedIdentity | null {
  if (value.length > MAX_HEADER_LENGTH) return null;
  const text = value.trim();
  const end = text.indexOf(';');
  const jws = (end === -1 ? text : text.slice(0, end)).trim();
  if (!COMPACT_JWS.test(jws)) return null;
  const params = new Map<string, string>();
  const rest = end === -1 ? '' : text.slice(end);
  const param = new RegExp(PARAM.source, 'y');
  while (param.lastIndex < rest.length) {
    const match = param.exec(rest);
    if (!match) return null;
    const raw = match[2]!;
    params.set(match[1]!.toLowerCase(), raw.startsWith('<') || raw.startsWith('"') ? raw.slice(1, -1) : raw);
  }
  return { jws, params };
}

/** The claims of a verified payload when they have the SHAKEN shape; null otherwise. */
export function readPayload(json: unknown): PassportPayload | null {
  if (typeof json !== 'object' || json === null) return null;
  const p = json as Record<string, unknown>;
  const orig = p.orig as { tn?: unknown } | null | undefined;
  const dest = p.dest as { tn?: unknown } | null | undefined;
  const digits = (tn: unknown): tn is string => typeof tn === 'string' && /^[0-9]{1,15}$/.test(tn);
  if (!ATTESTATIONS.includes(p.attest as Attestation)) return null;
  if (typeof p.iat !== 'number' || !Number.isInteger(p.iat)) return null;
  if (typeof orig !== 'object' || orig === null || !digits(orig.tn)) return null;
  if (typeof dest !== 'object' || dest === null || !Array.isArray(dest.tn) || dest.tn.length === 0 || !dest.tn.every(digits)) return null;
  if (typeof p.origid !== 'string' || p.origid.length === 0) return null;
  return { attest: p.attest as Attestation, dest: { tn: dest.tn }, iat: p.iat, orig: { tn: orig.tn }, origid: p.origid };
}
