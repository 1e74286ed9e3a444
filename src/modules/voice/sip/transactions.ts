import { headerValue, splitList, type SipHeader } from './message.js';

/**
 * Server transactions (RFC 3261 §17.2.3): a request is a retransmission when its top Via branch, sent-by and method
 * (ACK counting as INVITE) match an earlier one. The final response is kept for `ttlMs` (32 s, Timer J / H) and sent
 * again for every retransmission; the decision is never made twice. Bounded: past `maxEntries` the oldest go first.
 */

const MAGIC_COOKIE = 'z9hG4bK';

export type TransactionState = { kind: 'pending' } | { kind: 'answered'; response: Buffer };

export interface TransactionStore {
  /** The transaction of a key, if it is known and not expired. */
  get(key: string): TransactionState | undefined;
  /** Starts a transaction: the request is being decided. */
  begin(key: string): void;
  /** Records the final response of a transaction (kept or started now). */
  answer(key: string, response: Buffer): void;
  size(): number;
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

export function createTransactionStore({ ttlMs = 32_000, maxEntries = 200_000, now = () => Date.now() } = {}): TransactionStore {
  // Insertion order is expiry order (one TTL for all), so expired entries are always at the front.
  const entries = new Map<string, { state: TransactionState; expires: number }>();

  const sweep = (at: number) => {
    for (const [key, entry] of entries) {
      if (entry.expires > at && entries.size <= maxEntries) break;
      entries.delete(key);
    }
  };

  return {
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expires <= now()) {
        entries.delete(key);
        return undefined;
      }
      return entry.state;
    },
    begin(key) {
      const at = now();
      entries.delete(key);
      entries.set(key, { state: { kind: 'pending' }, expires: at + ttlMs });
      sweep(at);
    },
    answer(key, response) {
      const entry = entries.get(key);
      if (entry) entry.state = { kind: 'answered', response };
      else {
        const at = now();
        entries.set(key, { state: { kind: 'answered', response }, expires: at + ttlMs });
        sweep(at);
      }
    },
    size: () => entries.size,
  };
}
