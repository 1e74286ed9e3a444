import { describe, expect, it } from 'vitest';
import type { SipHeader } from './message.js';
import { createTransactionStore, transactionKey } from './transactions.js';

const headers = (via: string, extra: SipHeader[] = []): SipHeader[] => [{ name: 'via', value: via }, ...extra];

describe('transactionKey', () => {
  const via = 'SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-abc;rport, SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK-old';

  it('keys on the top Via branch, sent-by and method, with ACK matching its INVITE', () => {
    expect(transactionKey('INVITE', headers(via))).toBe(transactionKey('ACK', headers(via)));
    expect(transactionKey('INVITE', headers(via))).not.toBe(transactionKey('CANCEL', headers(via)));
    expect(transactionKey('INVITE', headers(via))).not.toBe(transactionKey('INVITE', headers(via.replace('10.0.0.2:5060', '10.0.0.2:5062'))));
    expect(transactionKey('INVITE', headers(via))).not.toBe(transactionKey('INVITE', headers(via.replace('-abc', '-abd'))));
  });

  it('falls back to Call-ID, CSeq number and From tag for RFC 2543 peers (no magic cookie)', () => {
    const old = (callId: string) =>
      headers('SIP/2.0/UDP 10.0.0.2;branch=1', [
        { name: 'call-id', value: callId },
        { name: 'cseq', value: '1 INVITE' },
        { name: 'from', value: '<sip:a@b>;tag=x' },
      ]);
    expect(transactionKey('INVITE', old('c1'))).toBe(transactionKey('ACK', old('c1')));
    expect(transactionKey('INVITE', old('c1'))).not.toBe(transactionKey('INVITE', old('c2')));
  });

  it('is undefined without a Via', () => {
    expect(transactionKey('INVITE', [])).toBeUndefined();
  });
});

describe('createTransactionStore', () => {
  it('keeps a pending transaction, then its answer, and forgets it after the TTL', () => {
    let now = 0;
    const store = createTransactionStore({ ttlMs: 32_000, now: () => now });
    store.begin('a');
    expect(store.get('a')).toEqual({ kind: 'pending' });
    store.answer('a', Buffer.from('302'));
    expect(store.get('a')).toEqual({ kind: 'answered', response: Buffer.from('302') });
    now = 31_999;
    expect(store.get('a')?.kind).toBe('answered');
    now = 32_000;
    expect(store.get('a')).toBeUndefined();
  });

  it('sweeps expired entries and stays within its bound, dropping the oldest first', () => {
    let now = 0;
    const store = createTransactionStore({ ttlMs: 1000, maxEntries: 3, now: () => now });
    for (const key of ['a', 'b', 'c', 'd']) store.answer(key, Buffer.from(key));
    expect(store.size()).toBe(3);
    expect(store.get('a')).toBeUndefined();
    expect(store.get('d')?.kind).toBe('answered');
    now = 2000;
    store.begin('e');
    expect(store.size()).toBe(1);
  });

  it('stays within its byte bound, dropping the oldest first, and counts an answer given to a pending transaction', () => {
    const store = createTransactionStore({ maxBytes: 3 * 1001 + 10 });
    for (const key of ['a', 'b', 'c']) store.answer(key, Buffer.alloc(1000));
    expect(store.size()).toBe(3);
    expect(store.bytes()).toBe(3003);
    store.answer('d', Buffer.alloc(1000));
    expect(store.get('a')).toBeUndefined();
    expect(store.bytes()).toBe(3003);
    store.begin('e');
    expect(store.size()).toBe(4);
    store.answer('e', Buffer.alloc(2000));
    expect(store.get('b')).toBeUndefined();
    expect(store.get('c')).toBeUndefined();
    expect(store.get('d')?.kind).toBe('answered');
    expect(store.get('e')?.kind).toBe('answered');
    expect(store.bytes()).toBe(3002);
  });

  it('frees the bytes of expired transactions', () => {
    let now = 0;
    const store = createTransactionStore({ ttlMs: 1000, now: () => now });
    store.answer('a', Buffer.alloc(500));
    now = 1000;
    expect(store.get('a')).toBeUndefined();
    expect(store.bytes()).toBe(0);
    store.answer('b', Buffer.alloc(10));
    now = 2500;
    store.begin('c');
    expect(store.bytes()).toBe(1);
  });

  it('keeps the cancel callback of a pending transaction', () => {
    const store = createTransactionStore();
    let cancelled = 0;
    store.begin('a', () => cancelled++);
    const state = store.get('a');
    if (state?.kind === 'pending') state.cancel?.();
    expect(cancelled).toBe(1);
  });
});
