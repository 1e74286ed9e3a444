import { headerValue, splitList, type SipHeader } from './message.js';

/**
 * Server transactions (RFC 3261 §17.2.3): a request is a retransmission when its top Via branch, sent-by and method
 * (ACK counting as INVITE) match an earlier one. The final response is kept for `ttlMs` (32 s, Timer J / H) and sent
 * again for every retransmission; the decision is never made twice. Bounded twice: past `maxEntries` transactions or
 * `maxBytes` of kept responses (and keys), the oldest go first.
 */

const MAGIC_COOKIE = 'z9hG4bK';

/** A transaction being decided (with how to cancel it, for an INVITE), or answered. */
export type TransactionState = { kind: 'pending'; cancel?: () => void } | { kind: 'answered'; response: Buffer };

export interface TransactionStore {
  /** The transaction of a key, if it is known and not expired. */
  get(key: string): TransactionState | undefined;
  /** Starts a transaction: the request is being decided. `cancel` is for a CANCEL that arrives meanwhile. */
  begin(key: string, cancel?: () => void): void;
  /** Records the final response of a transaction (kept or started now). */
  answer(key: string, response: Buffer): void;
  size(): number;
  /** The bytes held: every kept response and every key. */
  bytes(): number;
}

/** The transaction key of a request, or undefined when it has no Via to key on. */
export function transactionKey(method: string, headers: SipHeader[]): string | undefined {
  const via = headerValue(headers, 'via');
  if (via === undefined) return undefined;
  const top = splitList(via)[0] ?? '';
  const semicolon = top.indexOf(';');
  const sentBy = (semicolon < 0 ? top : top.slice(0, semicolon)).replace(/\s+/g, '').toLowerCase();
  const branch = /;\s*branch\s*=\s*([^;\s]+)/i.exec(top)?.[1];
  const txMethod = method === 'ACK' ? 'INVITE' : method;
  if (branch?.startsWith(MAGIC_COOKIE)) return `${branch}\n${sentBy}\n${txMethod}`;
  // RFC 2543 peers: the request's identity (§17.2.3, last paragraph), without the To tag an ACK adds.
  const cseq = headerValue(headers, 'cseq')?.split(/\s+/)[0] ?? '';
  const fromTag = /;\s*tag\s*=\s*([^;\s]+)/i.exec(headerValue(headers, 'from') ?? '')?.[1] ?? '';
  return `2543\n${headerValue(headers, 'call-id') ?? ''}\n${cseq}\n${fromTag}\n${top}\n${txMethod}`;
}

export function createTransactionStore({ ttlMs = 32_000, maxEntries = 200_000, maxBytes = 64 * 1024 * 1024, now = () => Date.now() } = {}): TransactionStore {
  // Insertion order is expiry order (one TTL for all), so expired entries are always at the front.
  const entries = new Map<string, { state: TransactionState; expires: number; bytes: number }>();
  let bytes = 0;

  const remove = (key: string, entry: { bytes: number }) => {
    entries.delete(key);
    bytes -= entry.bytes;
  };

  const sweep = (at: number) => {
    for (const [key, entry] of entries) {
      if (entry.expires > at && entries.size <= maxEntries && bytes <= maxBytes) break;
      remove(key, entry);
    }
  };

  const insert = (key: string, state: TransactionState, at: number) => {
    const size = key.length + (state.kind === 'answered' ? state.response.length : 0);
    entries.set(key, { state, expires: at + ttlMs, bytes: size });
    bytes += size;
    sweep(at);
  };

  return {
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expires <= now()) {
        remove(key, entry);
        return undefined;
      }
      return entry.state;
    },
    begin(key, cancel) {
      const old = entries.get(key);
      if (old) remove(key, old);
      insert(key, cancel ? { kind: 'pending', cancel } : { kind: 'pending' }, now());
    },
    answer(key, response) {
      const entry = entries.get(key);
      if (!entry) {
        insert(key, { kind: 'answered', response }, now());
        return;
      }
      const size = key.length + response.length;
      bytes += size - entry.bytes;
      entry.bytes = size;
      entry.state = { kind: 'answered', response };
      if (bytes > maxBytes) sweep(now());
    },
    size: () => entries.size,
    bytes: () => bytes,
  };
}
