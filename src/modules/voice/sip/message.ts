/**
 * SIP messages (RFC 3261 §7): parse one framed message, find message boundaries in a TCP stream, and serialize.
 * Bytes are read as latin1 so that every header copied into a response goes back byte for byte. Nothing here
 * throws on bad input: a parse answers a typed error together with whatever it could read, so the server can still
 * address a 400.
 */

export const MAX_MESSAGE_BYTES = 64 * 1024;
export const MAX_HEADERS = 100;
export const MAX_LINE_BYTES = 8 * 1024;

/** A header with its name in lower case, compact forms expanded (`v` → `via`). */
export interface SipHeader {
  name: string;
  value: string;
}

export interface SipRequest {
  type: 'request';
  method: string;
  uri: string;
  headers: SipHeader[];
  body: Buffer;
}

export interface SipResponse {
  type: 'response';
  status: number;
  reason: string;
  headers: SipHeader[];
  body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

export type SipParseErrorCode =
  | 'empty'
  | 'too-large'
  | 'binary'
  | 'no-header-end'
  | 'bad-start-line'
  | 'bad-header'
  | 'too-many-headers'
  | 'line-too-long'
  | 'bad-content-length'
  | 'truncated-body';

export interface SipParseError {
  code: SipParseErrorCode;
  detail: string;
  /** The request line and the headers read before and after the fault, when the start line was a request. */
  partial?: { method: string; uri: string; headers: SipHeader[] };
}

export type SipParseResult = { ok: true; message: SipMessage } | { ok: false; error: SipParseError };

/**
 * Where the next message in a stream ends: its length; more bytes needed (with the message's whole `length` once its
 * headers are complete); or a framing fault (the stream is lost).
 */
export type SipFrame = { kind: 'message'; length: number } | { kind: 'need-more'; length?: number } | { kind: 'error'; error: SipParseError };

const COMPACT: Record<string, string> = {
  a: 'accept-contact',
  b: 'referred-by',
  c: 'content-type',
  d: 'request-disposition',
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact',
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  o: 'event',
  r: 'refer-to',
  s: 'subject',
  t: 'to',
  u: 'allow-events',
  v: 'via',
  x: 'session-expires',
  y: 'identity',
};

const DISPLAY: Record<string, string> = { 'call-id': 'Call-ID', cseq: 'CSeq', 'www-authenticate': 'WWW-Authenticate', 'mime-version': 'MIME-Version' };

const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;
const REQUEST_LINE = /^([A-Za-z0-9.!%*_+`'~-]+) (\S+) SIP\/2\.0$/;
const STATUS_LINE = /^SIP\/2\.0 ([1-6]\d\d) ?(.*)$/;
const DIGITS = /^\d{1,10}$/;
const CONTENT_LENGTH_LINE = /^(?:content-length|l)[ \t]*:[ \t]*(.*?)[ \t]*$/im;

/** Whether a line holds a control character other than tab (binary data, or a stray CR or LF). */
function hasControl(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return true;
  }
  return false;
}

const fail = (code: SipParseErrorCode, detail: string, partial?: SipParseError['partial']): SipParseResult => ({
  ok: false,
  error: partial ? { code, detail, partial } : { code, detail },
});

/** The number of CR LF pairs at the start of `buf` from `offset` (RFC 3261 §7.5: ignore them before a message). */
export function leadingCrlf(buf: Buffer, offset = 0): number {
  let i = offset;
  while (i + 1 < buf.length && buf[i] === 13 && buf[i + 1] === 10) i += 2;
  return i - offset;
}

function headerEnd(buf: Buffer): { end: number; sep: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n', 0, 'latin1');
  const lf = buf.indexOf('\n\n', 0, 'latin1');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { end: crlf, sep: 4 };
  return lf >= 0 ? { end: lf, sep: 2 } : undefined;
}

const FOLD = /\r?\n[ \t]+/g;

function contentLength(head: string): { ok: true; value: number | undefined } | { ok: false; detail: string } {
  // A folded value (RFC 3261 §7.3.1) continues on the next line: unfold first, which is rare, so tested cheaply.
  const match = CONTENT_LENGTH_LINE.exec(head.includes('\n ') || head.includes('\n\t') ? head.replace(FOLD, ' ') : head);
  if (!match) return { ok: true, value: undefined };
  const raw = match[1] ?? '';
  if (!DIGITS.test(raw)) return { ok: false, detail: `Content-Length "${raw.slice(0, 20)}" is not a number` };
  return { ok: true, value: Number(raw) };
}

/**
 * Finds the end of the first message in a TCP stream buffer (leading CR LF already removed): the header section
 * plus Content-Length bytes (a missing Content-Length counts as 0).
 */
export function frameMessage(buf: Buffer): SipFrame {
  const end = headerEnd(buf.length > MAX_MESSAGE_BYTES ? buf.subarray(0, MAX_MESSAGE_BYTES) : buf);
  if (!end) {
    if (buf.length >= MAX_MESSAGE_BYTES) return { kind: 'error', error: { code: 'too-large', detail: `no end of headers within ${MAX_MESSAGE_BYTES} bytes` } };
    return { kind: 'need-more' };
  }
  const length = contentLength(buf.toString('latin1', 0, end.end));
  if (!length.ok) return { kind: 'error', error: { code: 'bad-content-length', detail: length.detail } };
  const total = end.end + end.sep + (length.value ?? 0);
  if (total > MAX_MESSAGE_BYTES) return { kind: 'error', error: { code: 'too-large', detail: `message of ${total} bytes exceeds ${MAX_MESSAGE_BYTES}` } };
  return buf.length >= total ? { kind: 'message', length: total } : { kind: 'need-more', length: total };
}

/**
 * Parses one whole message (a UDP datagram, or one frame of a stream). A Content-Length larger than the body is an
 * error; a smaller one cuts the body (RFC 3261 §18.3). Without Content-Length the body is the rest of the bytes.
 */
export function parseMessage(input: Buffer): SipParseResult {
  const buf = input.subarray(leadingCrlf(input));
  if (buf.length === 0) return fail('empty', 'empty message');
  if (buf.length > MAX_MESSAGE_BYTES) return fail('too-large', `message of ${buf.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  const end = headerEnd(buf);
  const head = buf.toString('latin1', 0, end ? end.end : buf.length);
  const lines = head.split(/\r?\n/);
  const start = lines[0] ?? '';
  const request = REQUEST_LINE.exec(start);
  const status = request ? null : STATUS_LINE.exec(start);
  if (!request && !status) {
    return fail(
      hasControl(start) ? 'binary' : start.length > MAX_LINE_BYTES ? 'line-too-long' : 'bad-start-line',
      'the start line is neither a SIP/2.0 request nor a status line',
    );
  }
  const headers: SipHeader[] = [];
  let fault: { code: SipParseErrorCode; detail: string } | undefined;
  const note = (code: SipParseErrorCode, detail: string) => {
    fault ??= { code, detail };
  };
  if (start.length > MAX_LINE_BYTES) note('line-too-long', `the start line is longer than ${MAX_LINE_BYTES} bytes`);
  if (lines.length - 1 > MAX_HEADERS) note('too-many-headers', `more than ${MAX_HEADERS} header lines`);
  // The header a continuation line extends: the one read from the line before, if that line was good.
  let previous: SipHeader | undefined;
  for (let i = 1; i < lines.length && i <= MAX_HEADERS; i++) {
    const line = lines[i]!;
    const current = previous;
    previous = undefined;
    if (line.length > MAX_LINE_BYTES) {
      note('line-too-long', `header line ${i} is longer than ${MAX_LINE_BYTES} bytes`);
      continue;
    }
    if (hasControl(line)) {
      note('binary', `header line ${i} contains control characters`);
      continue;
    }
    const first = line.charCodeAt(0);
    if (first === 32 || first === 9) {
      // A folded line (RFC 3261 §7.3.1): the folding whitespace counts as one space.
      if (current === undefined) {
        note('bad-header', `header line ${i} continues no header`);
        continue;
      }
      const more = line.trim();
      if (more !== '') current.value = current.value === '' ? more : `${current.value} ${more}`;
      previous = current;
      continue;
    }
    const colon = line.indexOf(':');
    const rawName = colon > 0 ? line.slice(0, colon).trimEnd() : '';
    if (!TOKEN.test(rawName)) {
      note('bad-header', `header line ${i} is not "Name: value"`);
      continue;
    }
    const lower = rawName.toLowerCase();
    previous = { name: COMPACT[lower] ?? lower, value: line.slice(colon + 1).trim() };
    headers.push(previous);
  }
  const partial = request ? { method: request[1]!, uri: request[2]!, headers } : undefined;
  if (!end) note('no-header-end', 'the headers do not end with an empty line');
  if (fault) return fail(fault.code, fault.detail, partial);

  const bodyStart = end!.end + end!.sep;
  const declared = contentLength(head);
  if (!declared.ok) return fail('bad-content-length', declared.detail, partial);
  const available = buf.length - bodyStart;
  if (declared.value !== undefined && declared.value > available) {
    return fail('truncated-body', `Content-Length ${declared.value} but only ${available} body bytes`, partial);
  }
  const body = buf.subarray(bodyStart, bodyStart + (declared.value ?? available));
  if (request) return { ok: true, message: { type: 'request', method: request[1]!, uri: request[2]!, headers, body } };
  return { ok: true, message: { type: 'response', status: Number(status![1]), reason: status![2] ?? '', headers, body } };
}

/** The first value of a header (by lower-case long name), or undefined. */
export function headerValue(headers: SipHeader[], name: string): string | undefined {
  for (const h of headers) if (h.name === name) return h.value;
  return undefined;
}

/** Every value of a header in order, one per header line (a line may still hold a comma-separated list). */
export function headerValues(headers: SipHeader[], name: string): string[] {
  const values: string[] = [];
  for (const h of headers) if (h.name === name) values.push(h.value);
  return values;
}

/** Splits a header value at top-level commas: not inside quotes or angle brackets. */
export function splitList(value: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let angle = false;
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === '<') angle = true;
    else if (!quoted && c === '>') angle = false;
    else if (!quoted && !angle && c === ',') {
      parts.push(value.slice(from, i).trim());
      from = i + 1;
    }
  }
  parts.push(value.slice(from).trim());
  return parts.filter((p) => p !== '');
}

function displayName(name: string): string {
  return DISPLAY[name] ?? name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

/** The message as bytes, with canonical header names and a Content-Length that matches the body. */
export function serializeMessage(message: SipMessage): Buffer {
  const start = message.type === 'request' ? `${message.method} ${message.uri} SIP/2.0` : `SIP/2.0 ${message.status} ${message.reason}`;
  let text = start + '\r\n';
  for (const h of message.headers) if (h.name !== 'content-length') text += `${displayName(h.name)}: ${h.value}\r\n`;
  text += `Content-Length: ${message.body.length}\r\n\r\n`;
  const head = Buffer.from(text, 'latin1');
  return message.body.length ? Buffer.concat([head, message.body]) : head;
}
