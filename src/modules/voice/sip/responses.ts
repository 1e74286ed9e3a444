import { randomBytes } from 'node:crypto';
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
