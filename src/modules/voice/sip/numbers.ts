import { splitList } from './message.js';

/**
 * Telephone numbers out of SIP headers. The numbers come back as received (`+77011234567`, `87011234567`,
 * `77011234567`): deciding what they mean is the screening's job. Visual separators of tel URIs and `user=phone` SIP
 * URIs are removed. `callNumber` also rewrites the two forms switches send that screening would not read.
 */

const VISUAL_SEPARATORS = /[-.()\s]/g;
const KZ_NSN = /^7\d{9}$/;
const INTERNATIONAL_PREFIX = /^00[1-9]\d*$/;

/**
 * A number as screening should see it: a bare 10-digit Kazakh national significant number (`7011234567`) gets `+7`,
 * and the international prefix `00` becomes `+` (`0044…` → `+44…`). Anything else is returned as it is.
 */
export function callNumber(number: string): string {
  if (KZ_NSN.test(number)) return `+7${number}`;
  if (INTERNATIONAL_PREFIX.test(number)) return `+${number.slice(2)}`;
  return number;
}

function percentDecode(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The URI of a name-addr (`"Name" <sip:…>;tag=x`) or addr-spec (`sip:…;tag=x`); header parameters dropped. */
export function addressUri(value: string): string {
  let i = 0;
  const text = value.trim();
  if (text.startsWith('"')) {
    for (i = 1; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
  }
  const open = text.indexOf('<', i);
  if (open >= 0) {
    const close = text.indexOf('>', open);
    return text.slice(open + 1, close < 0 ? text.length : close).trim();
  }
  const semicolon = text.indexOf(';', i);
  return (semicolon < 0 ? text : text.slice(0, semicolon)).trim();
}

/**
 * The number in a SIP, SIPS or tel URI: the user part of `sip:+77011234567@host;user=phone`, or the subscriber of
 * `tel:+77011234567;phone-context=…`. Empty when the URI has no user part or another scheme.
 */
export function uriNumber(uri: string): string {
  const colon = uri.indexOf(':');
  if (colon < 0) return '';
  const scheme = uri.slice(0, colon).toLowerCase();
  const rest = uri.slice(colon + 1);
  if (scheme === 'tel') {
    const end = rest.search(/[;?]/);
    return percentDecode(end < 0 ? rest : rest.slice(0, end)).replace(VISUAL_SEPARATORS, '');
  }
  if (scheme !== 'sip' && scheme !== 'sips') return '';
  const at = rest.indexOf('@');
  if (at < 0) return '';
  const userinfo = rest.slice(0, at);
  const password = userinfo.indexOf(':');
  const user = password < 0 ? userinfo : userinfo.slice(0, password);
  // A telephone-subscriber user part may carry its own parameters (`+7701;isub=1`).
  const semicolon = user.indexOf(';');
  const subscriber = percentDecode(semicolon < 0 ? user : user.slice(0, semicolon));
  return /[;]user=phone/i.test(rest.slice(at)) ? subscriber.replace(VISUAL_SEPARATORS, '') : subscriber;
}

/** The number in a From, To or P-Asserted-Identity value (name-addr or addr-spec). */
export function addressNumber(value: string): string {
  return uriNumber(addressUri(value));
}

/**
 * The redirecting number: the oldest diversion. Diversion (RFC 5806) lists the newest first, so this is its last
 * entry; History-Info (RFC 7044) lists the original target first, so this is its first entry when the call was
 * retargeted at least once (two entries or more). Undefined when neither says anything usable.
 */
export function redirectingNumber(diversion: string[], historyInfo: string[]): string | undefined {
  const diversions = diversion.flatMap(splitList);
  for (let i = diversions.length - 1; i >= 0; i--) {
    const n = addressNumber(diversions[i]!);
    if (n !== '') return n;
  }
  const entries = historyInfo.flatMap(splitList).map((entry, order) => ({ entry, order, index: /;\s*index\s*=\s*([\d.]+)/i.exec(entry)?.[1] }));
  if (entries.length < 2) return undefined;
  entries.sort((a, b) => compareIndex(a.index, b.index) || a.order - b.order);
  const uri = addressUri(entries[0]!.entry);
  const query = uri.indexOf('?');
  const n = uriNumber(query < 0 ? uri : uri.slice(0, query));
  return n === '' ? undefined : n;
}

/** History-Info indexes compare level by level: 1 < 1.1 < 1.2 < 2. Entries without an index keep their order. */
function compareIndex(a: string | undefined, b: string | undefined): number {
  if (a === undefined || b === undefined) return 0;
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}
