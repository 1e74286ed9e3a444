import { Type } from '@sinclair/typebox';

const Uuid = Type.String({ format: 'uuid' });
const Pem = (description: string) => Type.String({ minLength: 1, maxLength: 16_384, description });

export const CertificateUpload = Type.Object(
  {
    certificate: Pem(
      'PEM: a trust anchor alone; or a signing certificate (EC P-256, CA:FALSE, a TNAuthList naming one SPC) followed by the intermediates up to a stored trust anchor',
    ),
    trustAnchor: Type.Boolean({ default: false, description: 'a trust anchor (STI-PA root); the regulator only' }),
  },
  { additionalProperties: false },
);

export const Certificate = Type.Object({
  id: Uuid,
  operatorId: Type.Union([Uuid, Type.Null()]),
  x5u: Type.String({ description: 'public URL of the PEM, for the PASSporT x5u and the Identity info parameter' }),
  fingerprint: Type.String({ description: 'SHA-256 fingerprint' }),
  subject: Type.String(),
  trustAnchor: Type.Boolean(),
  notBefore: Type.String({ format: 'date-time' }),
  notAfter: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

export const CertificateParams = Type.Object({ id: Uuid });

export const SpcParams = Type.Object({
  spc: Type.String({
    pattern: '^[\\x21-\\x7e]{1,32}$',
    description: 'service provider code as certificates name it in their TNAuthList (compared upper-cased)',
  }),
});

export const SpcRequest = Type.Object(
  { operator: Type.String({ minLength: 1, maxLength: 200, description: 'the operator organisation’s name or id' }) },
  { additionalProperties: false },
);

export const SpcAssignment = Type.Object({ spc: Type.String(), operatorId: Uuid, updatedAt: Type.String({ format: 'date-time' }) });

export const RepositoryParams = Type.Object({
  host: Type.String({ pattern: '^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$', description: 'host name, with the port when it is not 443' }),
});

export const Repository = Type.Object({ host: Type.String(), createdAt: Type.String({ format: 'date-time' }) });

/** Named `id` like the certificate's other routes (one path, one parameter name), though it ends in `.pem`. */
export const CertificateFileParams = Type.Object({
  id: Type.String({
    pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\\.pem$',
    description: 'the certificate id followed by .pem',
  }),
});

export const CredentialRequest = Type.Object(
  {
    certificateId: Uuid,
    privateKey: Pem('PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----) matching the certificate'),
  },
  { additionalProperties: false },
);

export const CredentialResponse = Type.Object({ certificateId: Uuid, x5u: Type.String(), storedAt: Type.String({ format: 'date-time' }) });

const PhoneNumber = (what: string) => Type.String({ minLength: 1, maxLength: 32, description: `${what} telephone number (E.164 or a Kazakh national form)` });

export const SignRequest = Type.Object(
  {
    orig: PhoneNumber('calling'),
    dest: PhoneNumber('called'),
    attest: Type.Union([Type.Literal('A'), Type.Literal('B'), Type.Literal('C')], { description: 'attestation: A full, B partial, C gateway' }),
    origid: Type.Optional(Type.String({ format: 'uuid', description: 'origination identifier; generated when absent' })),
  },
  { additionalProperties: false },
);

export const SignResponse = Type.Object({
  identity: Type.String({ description: 'SIP Identity header value: `<PASSporT>;info=<x5u>;alg=ES256;ppt=shaken`' }),
  passport: Type.Object({
    header: Type.Object({ alg: Type.String(), ppt: Type.String(), typ: Type.String(), x5u: Type.String() }),
    payload: Type.Object({
      attest: Type.String(),
      dest: Type.Object({ tn: Type.Array(Type.String()) }),
      iat: Type.Integer(),
      orig: Type.Object({ tn: Type.String() }),
      origid: Type.String(),
    }),
  }),
});
