import { ImportReport } from '../../../core/http/uploads.js';
import { Type } from '@sinclair/typebox';
import { Imei } from '../registry/schema.js';

const Count = Type.Integer({ minimum: 0 });

export const OperatorQuery = Type.Object({
  operator: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'Operator organisation id or name (regulator only; an operator always acts for itself)' }),
  ),
});

export const ClassifyResult = Type.Object({
  examined: Count,
  white: Count,
  grey: Count,
  black: Count,
  changed: Count,
  lists: Type.Object({ added: Count, removed: Count }, { description: 'List entries added and removed by the regeneration that followed' }),
});

export const ObservationReport = Type.Composite([
  ImportReport,
  Type.Object({
    newPairs: Type.Integer({ minimum: 0, description: '(IMEI, IMSI) pairs the operator had never reported before' }),
    traceAlerts: Type.Integer({ minimum: 0, description: 'Trace alerts raised for stolen devices seen in the file' }),
    classification: Type.Union([ClassifyResult, Type.Null()]),
  }),
]);

export const ListKindParams = Type.Object({ kind: Type.Union([Type.Literal('black'), Type.Literal('notification'), Type.Literal('exception')]) });

export const ListQuery = Type.Composite([
  OperatorQuery,
  Type.Object({ since: Type.Optional(Type.Integer({ minimum: 0, description: 'Version of the last list received: the reply is the delta after it' })) }),
]);

export const TraceAlert = Type.Object({
  id: Type.String({ format: 'uuid' }),
  imei: Type.String({ description: '15 digits: the IMEI and its computed check digit' }),
  operatorId: Type.String({ format: 'uuid' }),
  operatorName: Type.Union([Type.String(), Type.Null()]),
  imsi: Type.String(),
  msisdn: Type.Union([Type.String(), Type.Null()]),
  seenOn: Type.String({ format: 'date' }),
  caseNumber: Type.Union([Type.String(), Type.Null()], {
    description: 'case number of the block that raised the alert (null only for alerts raised before case numbers were kept whose block is gone)',
  }),
  createdAt: Type.String({ format: 'date-time' }),
});

export const TraceAlertQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});

export const Pairing = Type.Object({
  imei: Type.String({ minLength: 14, maxLength: 16, description: 'IMEI (15 digits with a valid check digit), or its first 14 digits' }),
  imsi: Type.String({ minLength: 14, maxLength: 15 }),
});

export const PlmnParams = Type.Object({
  plmn: Type.String({ pattern: '^[0-9]{5,6}$', description: 'MCC + MNC, e.g. 40102 (6 digits where the MCC’s networks have 3-digit MNCs)' }),
});

export const NetworkHolder = Type.Object({ plmn: Type.String({ description: 'MCC + MNC, e.g. 40102' }), operatorId: Type.String({ format: 'uuid' }) });

export const NetworkAssignment = Type.Object(
  { operator: Type.String({ minLength: 1, maxLength: 200, description: 'Operator organisation id or name' }) },
  { additionalProperties: false },
);

export const PairingResult = Type.Object({ imei: Type.String(), imsi: Type.String(), created: Type.Boolean() });

/** Bounds of the condition settings: a grace period or window of up to a year; a device with up to 1,000 IMSIs. */
export const MAX_GRACE_DAYS = 366;
export const MAX_WINDOW_DAYS = 366;
export const MAX_IMSIS = 1_000;

export const ConditionSettings = Type.Object(
  {
    blocking: Type.Boolean({ description: 'A matching device is grey, then black; otherwise the reason is only recorded' }),
    graceDays: Type.Integer({ minimum: 0, maximum: MAX_GRACE_DAYS, description: 'Days on the grey list before the black list (0 = black at once)' }),
    sticky: Type.Boolean({ description: 'Once black for this reason, the device stays black while the underlying fact holds' }),
    enabled: Type.Boolean(),
    params: Type.Object(
      {
        maxImsis: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_IMSIS, description: 'duplicate: more IMSIs than this in the window is a clone' })),
        windowDays: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_WINDOW_DAYS, description: 'duplicate: days an IMSI counts after it was last seen' })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export const Condition = Type.Composite([Type.Object({ name: Type.String() }), ConditionSettings]);

export const ConditionParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 40 }) });

export const StolenRequest = Type.Object({ imei: Imei, caseNumber: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

export const StolenResponse = Type.Object({
  imei: Type.String(),
  caseNumber: Type.String(),
  blockedAt: Type.String({ format: 'date-time' }),
  alreadyBlocked: Type.Boolean(),
});

export const OrderRequest = Type.Object({ imei: Imei, orderRef: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

export const OrderResponse = Type.Object({ imei: Type.String(), orderRef: Type.String(), alreadyOrdered: Type.Boolean() });
