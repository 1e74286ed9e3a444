import { Type } from '@sinclair/typebox';
import type { App } from '../../../core/http/app.js';
import { requestContext } from '../../../core/http/auth-hook.js';
import { Problem, authErrors } from '../../../core/http/schemas.js';
import { Certificate, CertificateFileParams, CertificateParams, CertificateUpload, CredentialRequest, CredentialResponse, SignRequest, SignResponse } from './schema.js';
import type { CertificateView, StirService } from './service.js';

const tags = ['voice'];

function certificateJson(c: CertificateView) {
  return {
    ...c,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    revokedAt: c.revokedAt?.toISOString() ?? null,
    createdAt: c.createdAt.toISOString(),
  };
}

export function stirRoutes(stir: StirService) {
  return async function (app: App): Promise<void> {
    app.post('/api/v1/voice/stir/certificates', {
      config: { scope: 'voice:write' },
      schema: {
        tags,
        summary: 'Uploads an operator’s STIR/SHAKEN certificate (issued by a stored trust anchor), or a trust anchor (the regulator only)',
        body: CertificateUpload,
        response: { 201: Certificate, 409: Problem, 422: Problem, ...authErrors },
      },
    }, async (request, reply) => reply.code(201).send(certificateJson(await stir.uploadCertificate(requestContext(request), request.body))));

    app.get('/api/v1/voice/stir/certificates', {
      config: { scope: 'voice:write' },
      schema: { tags, summary: 'Lists the certificate store', response: { 200: Type.Object({ items: Type.Array(Certificate) }), ...authErrors } },
    }, async () => ({ items: (await stir.listCertificates()).map(certificateJson) }));

    app.get('/api/v1/voice/stir/certificates/:file', {
      config: { public: true },
      schema: {
        tags,
        summary: 'The PEM of a current certificate: the target of a PASSporT x5u',
        params: CertificateFileParams,
        response: { 200: { content: { 'application/x-pem-file': { schema: Type.String() } } }, 404: Problem, 429: Problem },
      },
    }, async (request, reply) => {
      const pem = await stir.certificatePem(request.params.file.slice(0, -'.pem'.length).toLowerCase());
      return reply.type('application/x-pem-file').send(pem);
    });

    app.delete('/api/v1/voice/stir/certificates/:id', {
      config: { scope: 'voice:write' },
      schema: { tags, summary: 'Revokes a certificate: an operator its own, the regulator any', params: CertificateParams, response: { 204: Type.Null(), 404: Problem, ...authErrors } },
    }, async (request, reply) => {
      await stir.revokeCertificate(requestContext(request), request.params.id);
      return reply.code(204).send(null);
    });

    app.put('/api/v1/voice/stir/credentials', {
      config: { scope: 'voice:write' },
      schema: {
        tags,
        summary: 'Sets the calling operator’s signing credential; the private key is stored encrypted and never returned',
        body: CredentialRequest,
        response: { 200: CredentialResponse, 404: Problem, 422: Problem, ...authErrors },
      },
    }, async (request) => {
      const stored = await stir.setCredential(requestContext(request), request.body);
      return { ...stored, storedAt: stored.storedAt.toISOString() };
    });

    app.post('/api/v1/voice/stir/sign', {
      config: { scope: 'voice:sign' },
      schema: {
        tags,
        summary: 'STIR/SHAKEN authentication service: signs a SHAKEN PASSporT and returns the SIP Identity header value',
        body: SignRequest,
        response: { 200: SignResponse, 409: Problem, ...authErrors },
      },
    }, async (request) => stir.sign(requestContext(request), request.body));
  };
}
