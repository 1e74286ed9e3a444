import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frameMessage, headerValue, headerValues, MAX_HEADERS, MAX_MESSAGE_BYTES, parseMessage, serializeMessage, splitList } from './message.js';

const invite = [
  'INVITE sip:+77011234567@10.0.0.1;user=phone SIP/2.0',
  'v: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-1',
  'Via: SIP/2.0/UDP 10.0.0.3:5060;branch=z9hG4bK-0',
  'f: "Alice" <sip:+77021234567@10.0.0.2>;tag=a',
  't: <sip:+77011234567@10.0.0.1>',
  'i: call-1@10.0.0.2',
  'CSeq: 1 INVITE',
  'Max-Forwards: 70',
  'c: application/sdp',
  'l: 4',
  '',
  'v=0\r\n',
].join('\r\n');

describe('parseMessage', () => {
  it('reads a request with compact header names, and cuts the body at Content-Length', () => {
    const r = parseMessage(Buffer.from(invite, 'latin1'));
    expect(r.ok).toBe(true);
    if (!r.ok || r.message.type !== 'request') return;
    expect(r.message).toMatchObject({ method: 'INVITE', uri: 'sip:+77011234567@10.0.0.1;user=phone' });
    expect(headerValues(r.message.headers, 'via')).toHaveLength(2);
    expect(headerValue(r.message.headers, 'from')).toBe('"Alice" <sip:+77021234567@10.0.0.2>;tag=a');
    expect(headerValue(r.message.headers, 'call-id')).toBe('call-1@10.0.0.2');
    expect(headerValue(r.message.headers, 'content-type')).toBe('application/sdp');
    expect(r.message.body.toString()).toBe('v=0\r');
  });

  it('reads a response and skips leading CRLFs', () => {
    const r = parseMessage(Buffer.from('\r\n\r\nSIP/2.0 302 Moved Temporarily\r\nContact: <sip:a@b>\r\n\r\n'));
    expect(r).toMatchObject({ ok: true, message: { type: 'response', status: 302, reason: 'Moved Temporarily' } });
  });

  it('round-trips through serializeMessage', () => {
    const r = parseMessage(Buffer.from(invite, 'latin1'));
    if (!r.ok) throw new Error('parse failed');
    const again = parseMessage(serializeMessage(r.message));
    expect(again).toEqual(r);
    expect(serializeMessage(r.message).toString('latin1')).toContain('\r\nCall-ID: call-1@10.0.0.2\r\nCSeq: 1 INVITE\r\n');
  });

  it.each([
    ['empty', ''],
    ['bad-start-line', 'HELLO\r\n\r\n'],
    ['binary', '\x00\x01\x02\x03INVITE'],
    ['no-header-end', 'INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: x'],
    ['bad-header', 'INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nno colon here\r\n\r\n'],
    ['binary', 'INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nX: a\x00b\r\n\r\n'],
    ['bad-content-length', 'INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: -1\r\n\r\n'],
    ['truncated-body', 'INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 10\r\n\r\nabc'],
    ['line-too-long', `INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`],
    ['too-many-headers', `INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n${'X: 1\r\n'.repeat(MAX_HEADERS + 1)}\r\n`],
    ['too-large', `INVITE sip:1@h SIP/2.0\r\n\r\n${'a'.repeat(MAX_MESSAGE_BYTES)}`],
  ])('answers a typed error: %s', (code, text) => {
    const r = parseMessage(Buffer.from(text, 'latin1'));
    expect(r).toMatchObject({ ok: false, error: { code } });
  });

  it('keeps the request line and readable headers of a broken request, so a 400 can be addressed', () => {
    const r = parseMessage(Buffer.from('INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nbroken\r\nCall-ID: c\r\n\r\n'));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.partial?.method).toBe('INVITE');
    expect(r.error.partial?.headers.map((h) => h.name)).toEqual(['via', 'call-id']);
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        parseMessage(Buffer.from(bytes));
        frameMessage(Buffer.from(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on SIP-like text with random damage', () => {
    const pieces = fc.constantFrom(
      'INVITE sip:1@h SIP/2.0',
      'SIP/2.0 200 OK',
      'Via: x',
      'l: 5',
      'Content-Length: 99999999999',
      ':',
      '\r\n',
      '\n',
      '\r\n\r\n',
      '<',
      '"',
      ';tag=',
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(pieces, fc.string()), { maxLength: 40 }), (parts) => {
        const buf = Buffer.from(parts.join(''), 'latin1');
        parseMessage(buf);
        frameMessage(buf);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('frameMessage', () => {
  const head = 'OPTIONS sip:h SIP/2.0\r\nContent-Length: 3\r\n\r\n';
  it('finds the end of a message by Content-Length and asks for more when it is incomplete', () => {
    expect(frameMessage(Buffer.from(`${head}abcNEXT`))).toEqual({ kind: 'message', length: head.length + 3 });
    expect(frameMessage(Buffer.from(`${head}ab`))).toEqual({ kind: 'need-more', length: head.length + 3 });
    expect(frameMessage(Buffer.from('OPTIONS sip:h SIP/2.0\r\n'))).toEqual({ kind: 'need-more' });
    expect(frameMessage(Buffer.from('OPTIONS sip:h SIP/2.0\r\n\r\n'))).toEqual({ kind: 'message', length: 25 });
  });

  it('reports framing faults: bad or oversized Content-Length, no end of headers within the limit', () => {
    expect(frameMessage(Buffer.from('OPTIONS sip:h SIP/2.0\r\nl: x\r\n\r\n'))).toMatchObject({ kind: 'error', error: { code: 'bad-content-length' } });
    expect(frameMessage(Buffer.from('OPTIONS sip:h SIP/2.0\r\nl: 70000\r\n\r\n'))).toMatchObject({ kind: 'error', error: { code: 'too-large' } });
    expect(frameMessage(Buffer.alloc(MAX_MESSAGE_BYTES, 97))).toMatchObject({ kind: 'error', error: { code: 'too-large' } });
  });

  it('reads a folded Content-Length', () => {
    const folded = 'OPTIONS sip:h SIP/2.0\r\nContent-Length:\r\n  3\r\n\r\nabc';
    expect(frameMessage(Buffer.from(`${folded}NEXT`))).toEqual({ kind: 'message', length: folded.length });
  });
});

describe('folded header lines (RFC 3261 §7.3.1)', () => {
  it('joins a line starting with a space or tab to the header before it, with one space', () => {
    const text = [
      'INVITE sip:+77011234567@h SIP/2.0',
      'Via: SIP/2.0/UDP 10.0.0.2:5060',
      '  ;branch=z9hG4bK-1',
      "Subject: I know you're there,",
      '\tpick up the phone',
      '   ',
      '  and talk to me!',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    const r = parseMessage(Buffer.from(text, 'latin1'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(headerValue(r.message.headers, 'via')).toBe('SIP/2.0/UDP 10.0.0.2:5060 ;branch=z9hG4bK-1');
    expect(headerValue(r.message.headers, 'subject')).toBe("I know you're there, pick up the phone and talk to me!");
  });

  it('rejects a continuation of nothing or of a bad line', () => {
    expect(parseMessage(Buffer.from('OPTIONS sip:h SIP/2.0\r\n  x\r\n\r\n'))).toMatchObject({ ok: false, error: { code: 'bad-header' } });
    expect(parseMessage(Buffer.from('OPTIONS sip:h SIP/2.0\r\nbad line\r\n  x\r\n\r\n'))).toMatchObject({
      ok: false,
      error: { code: 'bad-header', detail: 'header line 1 is not "Name: value"' },
    });
  });
});

describe('splitList', () => {
  it('splits at commas outside quotes and angle brackets', () => {
    expect(splitList('"a, b" <sip:x@y>;p=1, <sip:u,v@w>, tel:+1')).toEqual(['"a, b" <sip:x@y>;p=1', '<sip:u,v@w>', 'tel:+1']);
  });
});
