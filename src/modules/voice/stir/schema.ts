import { Type } from '@sinclair/typebox';

const Uuid = Type.String({ format: 'uuid' });
const Pem = (description: string) => Type.String({ minLength: 1, maxLength: 16_384, description });

export const CertificateUpload = Type.Object(
  {
    certificate: Pem('PEM-encoded X.509 certificate with an EC P-256 key'),
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

export const CertificateFileParams = Type.Object({ file: Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\\.pem$', description: '{id}.pem' }) });

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
