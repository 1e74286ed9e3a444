import { randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { serializeMessage, type SipHeader } from './message.js';

/** Headers a response copies from its request (RFC 3261 §8.2.6.2), in this order; every Via is copied. */
const COPIED = ['via', 'from', 'to', 'call-id', 'cseq'];

const tagPrefix = randomBytes(4).toString('hex');
let tagCounter = 0;

/** A To tag unique to this process. */
function newTag(): string {
  tagCounter = (tagCounter + 1) % 0x7fffffff;
  return `${tagPrefix}${tagCounter.toString(36)}`;
}

/**
 * A response to a request with the given headers: Via, From, To (tagged when the request's To has no tag), Call-ID
 * and CSeq copied, then `extra`, then `Server: Qalqan` and `Content-Length: 0`.
 */
export function buildResponse(request: SipHeader[], status: number, reason: string, extra: SipHeader[] = []): Buffer {
  const headers: SipHeader[] = [];
  for (const name of COPIED) {
    for (const h of request) {
      if (h.name !== name) continue;
      const untagged = name === 'to' && !/;\s*tag\s*=/i.test(h.value);
      headers.push(untagged ? { name, value: `${h.value};tag=${newTag()}` } : h);
      if (name !== 'via') break;
    }
  }
  headers.push(...extra, { name: 'server', value: 'Qalqan' });
  return serializeMessage({ type: 'response', status, reason, headers, body: Buffer.alloc(0) });
}

/** The transport and sent-by host of a Via entry: `SIP/2.0/UDP host:port;…`, the host without brackets. */
const SENT_BY_HOST = /^SIP\s*\/\s*2\.0\s*\/\s*[^\s/]+\s+(?:\[([^\]\s]*)\]|([^\s:;,]+))/i;
const RECEIVED_PARAM = /\s*;\s*received\s*=\s*[^;,\s]*/i;

/** Where the first entry of a Via value ends: its first comma outside quotes, or the end of the value. */
function firstEntryEnd(value: string): number {
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 92 && quoted) i++;
    else if (c === 34) quoted = !quoted;
    else if (c === 44 && !quoted) return i;
  }
  return value.length;
}

/** An IPv6 address in one spelling (`2001:DB8:0::1` → `2001:db8::1`), anything else unchanged. */
function canonicalHost(host: string): string {
  if (!isIPv6(host)) return host;
  try {
    return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  } catch {
    return host;
  }
}

/**
 * The headers a response is built from (RFC 3261 §18.2.1): when the top Via's sent-by host is not the address the
 * request came from (a domain name, or another IP address), `;received=<address>` is added to the top Via (replacing
 * one already there). Otherwise the same array.
 */
export function withReceived(headers: SipHeader[], address: string): SipHeader[] {
  if (address === '') return headers;
  const index = headers.findIndex((h) => h.name === 'via');
  if (index < 0) return headers;
  const value = headers[index]!.value;
  const end = firstEntryEnd(value);
  const top = value.slice(0, end);
  const match = SENT_BY_HOST.exec(top);
  if (!match) return headers;
  const host = match[1] ?? match[2]!;
  if (host === address || canonicalHost(host.toLowerCase()) === canonicalHost(address.toLowerCase())) return headers;
  const copy = headers.slice();
  copy[index] = { name: 'via', value: `${top.replace(RECEIVED_PARAM, '').trimEnd()};received=${address}${value.slice(end)}` };
  return copy;
}
