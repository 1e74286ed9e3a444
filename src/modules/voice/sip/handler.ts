import type { Logger } from '../../../core/logger.js';
import { maskMsisdn } from '../../../identifiers/msisdn.js';
import type { CallToScreen, Ingress, ScreeningResult } from '../screening/schema.js';
import { headerValue, headerValues, parseMessage, type SipHeader, type SipRequest } from './message.js';
import { addressNumber, callNumber, redirectingNumber, uriNumber } from './numbers.js';
import { buildResponse, withReceived } from './responses.js';
import { createTransactionStore, transactionKey } from './transactions.js';

export interface SipSource {
  address: string;
  port: number;
  transport: 'udp' | 'tcp';
}

export interface SipHandlerOptions {
  logger: Logger;
  /** Decide one call. May return a promise. Throwing or rejecting answers 500. */
  screen(call: CallToScreen, source: SipSource): ScreeningResult | Promise<ScreeningResult>;
  /** Trunk lookup by source address. */
  trunkOf(address: string): { id: string; operatorId: string | null; ingress: Ingress } | undefined;
  /** May this source override the ingress with X-Qalqan-Ingress? */
  trusted(address: string): boolean;
  defaultIngress: Ingress;
  /** Called once per decided INVITE. */
  onDecision?(call: CallToScreen, result: ScreeningResult, trunkId: string | undefined): void;
}

/** Sends bytes back to where a message came from. */
export type Reply = (data: Buffer) => void;

const ALLOW: SipHeader = { name: 'allow', value: 'INVITE, ACK, CANCEL, OPTIONS' };
const MANDATORY = ['from', 'to', 'call-id', 'cseq'];

/**
 * The SIP redirect server's logic, without sockets: one message in, at most one response out through `reply`
 * (possibly later, when screening is asynchronous). Never throws.
 */
export function createSipHandler(options: SipHandlerOptions): (data: Buffer, source: SipSource, reply: Reply) => void {
  const { logger } = options;
  const transactions = createTransactionStore();

  function badRequest(headers: SipHeader[], detail: string): Buffer {
    return buildResponse(headers, 400, 'Bad Request', [{ name: 'warning', value: `399 qalqan "${detail.replace(/["\\]/g, "'")}"` }]);
  }

  function finish(key: string, response: Buffer, reply: Reply): void {
    transactions.answer(key, response);
    reply(response);
  }

  /** `headers`: the request's, with the top Via as a response carries it (`received`). */
  function invite(request: SipRequest, headers: SipHeader[], key: string, source: SipSource, reply: Reply): void {
    const { uri } = request;
    const scheme = uri.slice(0, uri.indexOf(':')).toLowerCase();
    if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') {
      finish(key, buildResponse(headers, 416, 'Unsupported URI Scheme'), reply);
      return;
    }
    const calledNumber = callNumber(uriNumber(uri));
    if (calledNumber === '') {
      finish(key, buildResponse(headers, 484, 'Address Incomplete'), reply);
      return;
    }
    const trunk = options.trunkOf(source.address);
    const override = headerValue(headers, 'x-qalqan-ingress');
    let ingress = trunk?.ingress ?? options.defaultIngress;
    if (override !== undefined && options.trusted(source.address)) {
      const value = override.toLowerCase();
      if (value !== 'international' && value !== 'domestic') {
        finish(key, badRequest(headers, 'X-Qalqan-Ingress must be international or domestic'), reply);
        return;
      }
      ingress = value;
    }
    const asserted = headerValue(headers, 'p-asserted-identity');
    const call: CallToScreen = {
      callingNumber: callNumber(addressNumber(asserted ?? headerValue(headers, 'from') ?? '')),
      calledNumber,
      ingress,
    };
    // After a diversion the To header still names the number first dialled, which a PASSporT's `dest` is about.
    const toNumber = callNumber(addressNumber(headerValue(headers, 'to') ?? ''));
    if (toNumber !== '') call.toNumber = toNumber;
    const redirecting = redirectingNumber(headerValues(headers, 'diversion'), headerValues(headers, 'history-info'));
    if (redirecting !== undefined) call.redirectingNumber = redirecting;
    // An empty Identity header carries no identity.
    const identity = headerValue(headers, 'identity');
    if (identity !== undefined && identity !== '') call.identity = identity;
    if (trunk) {
      call.trunkId = trunk.id;
      if (trunk.operatorId !== null) call.originatingOperator = trunk.operatorId;
    }

    // A CANCEL while the call is being screened (RFC 3261 §9.2): the INVITE is answered 487 at once, and the
    // verdict, when it comes, is not sent.
    let cancelled = false;
    transactions.begin(key, () => {
      if (cancelled) return;
      cancelled = true;
      finish(key, buildResponse(headers, 487, 'Request Terminated'), reply);
    });
    const decided = (result: ScreeningResult) => {
      try {
        options.onDecision?.(call, result, trunk?.id);
      } catch (err) {
        logger.error({ err }, 'sip: onDecision hook failed');
      }
      if (!cancelled) finish(key, decisionResponse(uri, headers, result), reply);
      if (logger.isLevelEnabled('info')) {
        logger.info(
          {
            from: maskMsisdn(call.callingNumber),
            to: maskMsisdn(call.calledNumber),
            ingress,
            trunk: trunk?.id,
            verdict: result.verdict,
            reasons: result.reasons,
            ...(result.identityError ? { identityError: result.identityError.code } : {}),
            ...(cancelled ? { cancelled: true } : {}),
            transport: source.transport,
            peer: source.address,
          },
          'sip: call screened',
        );
      }
    };
    const failed = (err: unknown) => {
      logger.error({ err, from: maskMsisdn(call.callingNumber), to: maskMsisdn(call.calledNumber), peer: source.address }, 'sip: screening failed');
      if (!cancelled) finish(key, buildResponse(headers, 500, 'Server Internal Error'), reply);
    };
    try {
      const result = options.screen(call, source);
      if (result instanceof Promise) result.then(decided, failed);
      else decided(result);
    } catch (err) {
      failed(err);
    }
  }

  function request(message: SipRequest, source: SipSource, reply: Reply): void {
    const { method } = message;
    const key = transactionKey(method, message.headers);
    if (key === undefined) {
      logger.debug({ peer: source.address, method }, 'sip: request without Via dropped');
      return;
    }
    // ACK of our non-2xx final answer (or of nothing we know): absorbed, never answered.
    if (method === 'ACK') return;
    const known = transactions.get(key);
    if (known) {
      if (known.kind === 'answered') reply(known.response);
      return;
    }
    // Responses are built from these; keys always from the request's own headers.
    const headers = withReceived(message.headers, source.address);
    const missing = MANDATORY.find((name) => headerValue(headers, name) === undefined);
    if (missing !== undefined) {
      finish(key, badRequest(headers, `missing ${missing} header`), reply);
      return;
    }
    const cseq = /^\s*\d{1,10}\s+(\S+)\s*$/.exec(headerValue(headers, 'cseq')!);
    if (!cseq || cseq[1] !== method) {
      finish(key, badRequest(headers, 'CSeq does not match the request'), reply);
      return;
    }
    switch (method) {
      case 'INVITE':
        invite(message, headers, key, source, reply);
        return;
      case 'OPTIONS':
        finish(key, buildResponse(headers, 200, 'OK', [ALLOW, { name: 'accept', value: 'application/sdp' }]), reply);
        return;
      case 'CANCEL': {
        const invited = transactions.get(transactionKey('INVITE', message.headers)!);
        if (!invited) {
          finish(key, buildResponse(headers, 481, 'Call/Transaction Does Not Exist'), reply);
          return;
        }
        finish(key, buildResponse(headers, 200, 'OK'), reply);
        // Still being screened: the INVITE gets 487 now. Already answered: nothing more to do.
        if (invited.kind === 'pending') invited.cancel?.();
        return;
      }
      default:
        finish(key, buildResponse(headers, 405, 'Method Not Allowed', [ALLOW]), reply);
    }
  }

  return (data, source, reply) => {
    try {
      const parsed = parseMessage(data);
      if (parsed.ok) {
        if (parsed.message.type === 'request') request(parsed.message, source, reply);
        return;
      }
      const { code, detail, partial } = parsed.error;
      if (code === 'empty') return;
      // Answerable when it has a transaction to answer in (a Via); the 400 is kept like any final response, so a
      // retransmission gets the same bytes.
      const key = partial !== undefined && partial.method !== 'ACK' ? transactionKey(partial.method, partial.headers) : undefined;
      logger.debug({ peer: source.address, transport: source.transport, code, detail, answered: key !== undefined }, 'sip: malformed message');
      if (partial === undefined || key === undefined) return;
      const known = transactions.get(key);
      if (known) {
        if (known.kind === 'answered') reply(known.response);
        return;
      }
      finish(key, badRequest(withReceived(partial.headers, source.address), detail), reply);
    } catch (err) {
      logger.error({ err, peer: source.address }, 'sip: message handling failed');
    }
  };
}

/** The reason phrase as a header value can carry it: no control characters (CR, LF), at most 200 characters. */
function headerText(text: string): string {
  let out = '';
  for (let i = 0; i < text.length && out.length < 200; i++) {
    const c = text.charCodeAt(i);
    out += c < 32 || c === 127 ? ' ' : text[i];
  }
  return out;
}

/** 302 (allow, flag) or 603 (block); the 603's Reason text is the first reason (screening lists blocking ones first). */
function decisionResponse(uri: string, headers: SipHeader[], result: ScreeningResult): Buffer {
  const extra: SipHeader[] = [];
  const reasons = result.reasons.join(',');
  const block = result.verdict === 'block';
  if (block) extra.push({ name: 'reason', value: `SIP;cause=603;text="${result.reasons[0] ?? 'BLOCKED'}"` });
  else extra.push({ name: 'contact', value: `<${uri}>` });
  extra.push({ name: 'x-qalqan-verdict', value: result.verdict });
  if (reasons) extra.push({ name: 'x-qalqan-reasons', value: reasons });
  const identityError = result.identityError;
  if (identityError) extra.push({ name: 'x-qalqan-identity-error', value: `${identityError.code} ${headerText(identityError.reason)}` });
  return block ? buildResponse(headers, 603, 'Decline', extra) : buildResponse(headers, 302, 'Moved Temporarily', extra);
}
