import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY_PATTERN = /^qk_([a-z0-9]{10})_([A-Za-z0-9_-]{32,64})$/;

export interface GeneratedKey {
  /** The full key, shown to its owner once and never stored. */
  key: string;
  prefix: string;
  hash: string;
}

/** API keys are long random tokens, so a keyed SHA-256 is enough (argon2 is for guessable passwords). */
export function hashToken(secret: string, token: string): string {
  return createHmac('sha256', secret).update(token).digest('hex');
}

export function generateApiKey(secret: string): GeneratedKey {
  const prefix = randomBytes(8).toString('hex').slice(0, 10);
  const key = `qk_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: hashToken(secret, key) };
}

export function keyPrefix(key: string): string | null {
  return KEY_PATTERN.exec(key)?.[1] ?? null;
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Compares a presented token with one that already verified, in time that depends only on the length (which is
 * public: keys have a fixed form). Strings, not buffers: it runs on every request from a cached key.
 */
export function sameToken(known: string, presented: string): boolean {
  if (known.length !== presented.length) return false;
  let diff = 0;
  for (let i = 0; i < known.length; i++) diff |= known.charCodeAt(i) ^ presented.charCodeAt(i);
  return diff === 0;
}

export function generateSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/** A password for a new console user: 20 characters from an unambiguous alphabet. */
export function generatePassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  return [...randomBytes(20)].map((b) => alphabet[b % alphabet.length]).join('');
}
