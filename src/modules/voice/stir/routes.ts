import { Type } from '@sinclair/typebox';
import type { App } from '../../../core/http/app.js';
import { requestContext } from '../../../core/http/auth-hook.js';
import { Problem, authErrors } from '../../../core/http/schemas.js';
import {
  Certificate,
  CertificateFileParams,
  CertificateParams,
  CertificateUpload,
  CredentialRequest,
  CredentialResponse,
  Repository,
  RepositoryParams,
  SignRequest,
  SignResponse,
  SpcAssignment,
  SpcParams,
  SpcRequest,
} from './schema.js';
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
    if (!stir.servesHttps)
      app.log.warn('PUBLIC_BASE_URL is not https: the x5u of our STIR/SHAKEN certificates are http URLs, which other operators’ verifiers will not fetch');

    app.post(
      '/api/v1/voice/stir/certificates',
      {
        config: { scope: 'voice:write' },
        schema: {
          tags,
          summary:
            'Uploads an operator’s STIR/SHAKEN certificate chain (up to a stored trust anchor; its SPC names the operator), or a trust anchor (the regulator only)',
          body: CertificateUpload,
          response: { 201: Certificate, 409: Problem, 422: Problem, ...authErrors },
        },
      },
      async (request, reply) => reply.code(201).send(certificateJson(await stir.uploadCertificate(requestContext(request), request.body))),
    );

    app.get(
      '/api/v1/voice/stir/certificates',
      {
        config: { scope: 'voice:write' },
        schema: { tags, summary: 'Lists the certificate store', response: { 200: Type.Object({ items: Type.Array(Certificate) }), ...authErrors } },
      },
      async () => ({ items: (await stir.listCertificates()).map(certificateJson) }),
    );

    app.get(
      '/api/v1/voice/stir/certificates/:id',
      {
        config: { public: true },
        schema: {
          tags,
          summary: 'The chain of a current certificate (end entity, then intermediates): the target of a PASSporT x5u',
          params: CertificateFileParams,
          response: { 200: { content: { 'application/pem-certificate-chain': { schema: Type.String() } } }, 404: Problem, 429: Problem },
        },
      },
      async (request, reply) => {
        const { pem, maxAgeSeconds } = await stir.certificatePem(request.params.id.slice(0, -'.pem'.length).toLowerCase());
        return reply.type('application/pem-certificate-chain').header('cache-control', `public, max-age=${maxAgeSeconds}`).send(pem);
      },
    );

    app.delete(
      '/api/v1/voice/stir/certificates/:id',
      {
        config: { scope: 'voice:write' },
        schema: {
          tags,
          summary: 'Revokes a certificate: an operator its own, the regulator any',
          params: CertificateParams,
          response: { 204: Type.Null(), 404: Problem, ...authErrors },
        },
      },
      async (request, reply) => {
        await stir.revokeCertificate(requestContext(request), request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/api/v1/voice/stir/spcs',
      {
        config: { scope: 'voice:admin' },
        schema: {
          tags,
          summary: 'Lists the service provider codes (SPC) and the operators they name',
          response: { 200: Type.Object({ items: Type.Array(SpcAssignment) }), ...authErrors },
        },
      },
      async () => ({ items: (await stir.listSpcs()).map((s) => ({ ...s, updatedAt: s.updatedAt.toISOString() })) }),
    );

    app.put(
      '/api/v1/voice/stir/spcs/:spc',
      {
        config: { scope: 'voice:admin' },
        schema: {
          tags,
          summary: 'Assigns a service provider code to an operator (the regulator only): certificates naming it in their TNAuthList vouch for that operator',
          params: SpcParams,
          body: SpcRequest,
          response: { 200: SpcAssignment, 404: Problem, ...authErrors },
        },
      },
      async (request) => {
        const assigned = await stir.putSpc(requestContext(request), request.params.spc, request.body.operator);
        return { ...assigned, updatedAt: assigned.updatedAt.toISOString() };
      },
    );

    app.delete(
      '/api/v1/voice/stir/spcs/:spc',
      {
        config: { scope: 'voice:admin' },
        schema: {
          tags,
          summary: 'Unassigns a service provider code (the regulator only)',
          params: SpcParams,
          response: { 204: Type.Null(), 404: Problem, ...authErrors },
        },
      },
      async (request, reply) => {
        await stir.deleteSpc(requestContext(request), request.params.spc);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/api/v1/voice/stir/repositories',
      {
        config: { scope: 'voice:admin' },
        schema: {
          tags,
          summary: 'Lists the allowed certificate repositories: hosts from which an x5u not in the store is fetched',
          response: { 200: Type.Object({ items: Type.Array(Repository) }), ...authErrors },
        },
      },
      async () => ({ items: (await stir.listRepositories()).map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })) }),
    );

    app.put(
      '/api/v1/voice/stir/repositories/:host',
      {
        config: { scope: 'voice:admin' },
        schema: {
          tags,
          summary: 'Allows an operator’s certificate repository host (the regulator only)',
          params: RepositoryParams,
          response: { 200: Repository, ...authErrors },
        },
      },
      async (request) => {
        const allowed = await stir.putRepository(requestContext(request), request.params.host);
        return { ...allowed, createdAt: allowed.createdAt.toISOString() };
      },
    );

    app.delete(
      '/api/v1/voice/stir/repositories/:host',
      {
        config: { scope: 'voice:admin' },
        schema: {
          tags,
          summary: 'Removes an allowed certificate repository host (the regulator only)',
          params: RepositoryParams,
          response: { 204: Type.Null(), 404: Problem, ...authErrors },
        },
      },
      async (request, reply) => {
        await stir.deleteRepository(requestContext(request), request.params.host);
        return reply.code(204).send(null);
      },
    );

    app.put(
      '/api/v1/voice/stir/credentials',
      {
        config: { scope: 'voice:write' },
        schema: {
          tags,
          summary: 'Sets the calling operator’s signing credential; the private key is stored encrypted and never returned',
          body: CredentialRequest,
          response: { 200: CredentialResponse, 404: Problem, 422: Problem, ...authErrors },
        },
      },
      async (request) => {
        const stored = await stir.setCredential(requestContext(request), request.body);
        return { ...stored, storedAt: stored.storedAt.toISOString() };
      },
    );

    app.post(
      '/api/v1/voice/stir/sign',
      {
        config: { scope: 'voice:sign' },
        schema: {
          tags,
          summary: 'STIR/SHAKEN authentication service: signs a SHAKEN PASSporT and returns the SIP Identity header value',
          body: SignRequest,
          response: { 200: SignResponse, 409: Problem, ...authErrors },
        },
      },
      async (request) => stir.sign(requestContext(request), request.body),
    );
  };
}
