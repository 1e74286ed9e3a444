import type { Logger } from '../../../core/logger.js';
import { maskMsisdn } from '../../../identifiers/msisdn.js';
import type { CallToScreen, Ingress, ScreeningResult } from '../types.js';
import { headerValue, headerValues, parseMessage, type SipHeader, type SipRequest } from './message.js';
import { addressNumber, redirectingNumber, uriNumber } from './numbers.js';
import { buildResponse } from './responses.js';
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

  function invite(request: SipRequest, key: string, source: SipSource, reply: Reply): void {
    const { headers, uri } = request;
    const scheme = uri.slice(0, uri.indexOf(':')).toLowerCase();
    if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') {
      finish(key, buildResponse(headers, 416, 'Unsupported URI Scheme'), reply);
      return;
    }
    const calledNumber = uriNumber(uri);
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
      callingNumber: addressNumber(asserted ?? headerValue(headers, 'from') ?? ''),
      calledNumber,
      ingress,
    };
    const redirecting = redirectingNumber(headerValues(headers, 'diversion'), headerValues(headers, 'history-info'));
    if (redirecting !== undefined) call.redirectingNumber = redirecting;
    const identity = headerValue(headers, 'identity');
    if (identity !== undefined) call.identity = identity;
    if (trunk) {
      call.trunkId = trunk.id;
      if (trunk.operatorId !== null) call.originatingOperator = trunk.operatorId;
    }

    transactions.begin(key);
    const decided = (result: ScreeningResult) => {
      try {
        options.onDecision?.(call, result, trunk?.id);
      } catch (err) {
        logger.error({ err }, 'sip: onDecision hook failed');
      }
      finish(key, decisionResponse(request, result), reply);
      if (logger.isLevelEnabled('info')) {
        logger.info(
          { from: maskMsisdn(call.callingNumber), to: maskMsisdn(call.calledNumber), ingress, trunk: trunk?.id, verdict: result.verdict, reasons: result.reasons, transport: source.transport, peer: source.address },
          'sip: call screened',
        );
      }
    };
    const failed = (err: unknown) => {
      logger.error({ err, from: maskMsisdn(call.callingNumber), to: maskMsisdn(call.calledNumber), peer: source.address }, 'sip: screening failed');
      finish(key, buildResponse(headers, 500, 'Server Internal Error'), reply);
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
    const { method, headers } = message;
    const key = transactionKey(method, headers);
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
        invite(message, key, source, reply);
        return;
      case 'OPTIONS':
        finish(key, buildResponse(headers, 200, 'OK', [ALLOW, { name: 'accept', value: 'application/sdp' }]), reply);
        return;
      case 'CANCEL': {
        const invited = transactions.get(transactionKey('INVITE', headers)!);
        finish(key, invited ? buildResponse(headers, 200, 'OK') : buildResponse(headers, 481, 'Call/Transaction Does Not Exist'), reply);
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
      const answerable = partial !== undefined && partial.method !== 'ACK' && headerValue(partial.headers, 'via') !== undefined;
      logger.debug({ peer: source.address, transport: source.transport, code, detail, answered: answerable }, 'sip: malformed message');
      if (answerable) reply(badRequest(partial.headers, detail));
    } catch (err) {
      logger.error({ err, peer: source.address }, 'sip: message handling failed');
    }
  };
}

function decisionResponse(request: SipRequest, result: ScreeningResult): Buffer {
  const extra: SipHeader[] = [];
  const reasons = result.reasons.join(',');
  if (result.verdict === 'block') {
    extra.push({ name: 'reason', value: `SIP;cause=603;text="${result.reasons[0] ?? 'BLOCKED'}"` }, { name: 'x-qalqan-verdict', value: 'block' });
    if (reasons) extra.push({ name: 'x-qalqan-reasons', value: reasons });
    return buildResponse(request.headers, 603, 'Decline', extra);
  }
  extra.push({ name: 'contact', value: `<${request.uri}>` }, { name: 'x-qalqan-verdict', value: result.verdict });
  if (reasons) extra.push({ name: 'x-qalqan-reasons', value: reasons });
  return buildResponse(request.headers, 302, 'Moved Temporarily', extra);
}
