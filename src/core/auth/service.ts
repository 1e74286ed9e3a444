import argon2 from 'argon2';
import type { AuditService } from '../audit/service.js';
import { createChanges } from '../changes.js';
import type { Executor } from '../db/database.js';
import type { DB, OrgKind } from '../db/types.js';
import { DomainError } from '../errors.js';
import { maskEmail } from '../../identifiers/email.js';
import type { Outbox } from '../events/outbox.js';
import type { Logger } from '../logger.js';
import { generateApiKey, generatePassword, generateSessionToken, hashToken, keyPrefix, sameHash, sameToken } from './keys.js';
import type { Principal, RequestContext } from './principal.js';
import { authPolicy } from './policy.js';
import { authRepository, type ApiKeyRecord, type ApiKeyWithOrg, type Organisation } from './repository.js';
import { ORG_KINDS, ROLES, beyondCeiling, canGrant, effectiveScopes, isKnownScope } from './scopes.js';

export interface AuthServiceDeps {
  db: Executor;
  audit: AuditService;
  outbox: Outbox;
  secret: string;
  clock: () => Date;
  ids: () => string;
  /** How long a verified key is trusted without asking the database again (revocation on this instance is immediate). */
  keyCacheMs?: number;
  /**
   * How long past `keyCacheMs` a verified key is still answered from the cache while it is read again in the
   * background (a busy database, e.g. PGlite during an import, must not stall every keyed request).
   */
  keyStaleMs?: number;
  logger?: Logger;
  sessionHours?: number;
  lockAfterFailures?: number;
  lockMinutes?: number;
}

const LAST_USED_EVERY_MS = 60_000;
/** How long a stale key is answered at most while its re-read waits for a busy database. */
const KEY_BUSY_MS = 15 * 60_000;
type CachedKey = { record: ApiKeyRecord; until: number; principal: Principal; verified: string | null };
const ARGON2 = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function createAuthService(deps: AuthServiceDeps) {
  const change = createChanges<DB>(deps);
  /** Per key prefix: the record, until when to trust it, the principal, and the token that last matched its hash. */
  const keyCache = new Map<string, CachedKey>();
  const lastTouched = new Map<string, number>();
  const keyCacheMs = deps.keyCacheMs ?? 5_000;
  const keyStaleMs = deps.keyStaleMs ?? 60_000;
  /** Background re-reads of expired cache entries, one per key prefix at a time. */
  const refreshing = new Map<string, Promise<CachedKey | null>>();
  /** Bumped when a key is revoked or forgotten: a re-read that began before must not bring the old record back. */
  const invalidations = new Map<string, number>();
  function forget(prefix: string): void {
    keyCache.delete(prefix);
    invalidations.set(prefix, (invalidations.get(prefix) ?? 0) + 1);
  }

  /**
   * Reads a key again and caches it; keeps what was verified when its hash is unchanged. Single flight per prefix. A
   * read that overlapped a revocation (or a forgotten key) reads once more, after it, so it cannot bring the old
   * record back.
   */
  function refreshKey(prefix: string): Promise<CachedKey | null> {
    let pending = refreshing.get(prefix);
    if (!pending) {
      pending = (async () => {
        let generation: number | undefined;
        let record: ApiKeyWithOrg | null;
        do {
          generation = invalidations.get(prefix);
          record = await authRepository(deps.db).findKeyByPrefix(prefix);
        } while (invalidations.get(prefix) !== generation);
        if (!record) {
          keyCache.delete(prefix);
          return null;
        }
        const previous = keyCache.get(prefix);
        const verified = previous && previous.record.keyHash === record.keyHash ? previous.verified : null;
        const entry = { record, until: deps.clock().getTime() + keyCacheMs, principal: principalOfKey(record), verified };
        keyCache.set(prefix, entry);
        return entry;
      })().finally(() => refreshing.delete(prefix));
      refreshing.set(prefix, pending);
    }
    return pending;
  }

  /** Records a key's last use (to the minute) without making its request wait for the write. */
  function touch(id: string, now: number): void {
    lastTouched.set(id, now);
    authRepository(deps.db)
      .touchKey(id, new Date(now))
      .catch((err: unknown) => deps.logger?.warn({ err }, 'recording an API key’s last use failed'));
  }

  /**
   * A cached, verified entry usable now: fresh, or stale within `keyStaleMs` (then read again in the background), or
   * stale longer while that re-read has not answered, up to KEY_BUSY_MS: the database is busy (a long import's merge
   * holds the embedded database's one connection), which says nothing about the key; a revocation on this instance
   * forgets the key at once, and a failed re-read ends the grace.
   */
  function usable(prefix: string, cached: CachedKey | undefined, now: number): cached is CachedKey {
    if (!cached || cached.verified === null) return false;
    const staleFor = now - cached.until;
    if (staleFor > keyStaleMs && !(refreshing.has(prefix) && staleFor <= KEY_BUSY_MS)) return false;
    if (cached.until < now) {
      refreshKey(prefix).catch((err: unknown) => deps.logger?.warn({ err }, 'reading an API key again failed; the cached key is used a while longer'));
    }
    return true;
  }
  const lockAfter = deps.lockAfterFailures ?? 5;
  const lockMs = (deps.lockMinutes ?? 15) * 60_000;
  const sessionMs = (deps.sessionHours ?? 8) * 3_600_000;
  const dummyHash = argon2.hash('timing-equaliser', ARGON2);

  async function requireOrg(idOrName: string): Promise<Organisation> {
    const org = await authRepository(deps.db).findOrg(idOrName);
    if (!org) throw new DomainError('not_found', `organisation "${idOrName}" does not exist`);
    return org;
  }

  function principalOfKey(k: ApiKeyWithOrg): Principal {
    return { kind: 'apikey', id: k.id, label: `${k.name} (qk_${k.prefix})`, orgId: k.orgId, orgKind: k.orgKind, scopes: effectiveScopes(k.scopes, k.orgKind) };
  }

  /** The organisation named by `org`, which the caller must be allowed to manage keys of. */
  async function keyOrg(ctx: RequestContext, org: string): Promise<Organisation> {
    const found = await requireOrg(org);
    if (!authPolicy.manageKeys(ctx.principal, found.id)) throw new DomainError('forbidden', 'only the regulator administers other organisations');
    return found;
  }

  return {
    async createOrg(ctx: RequestContext, input: { name: string; kind: OrgKind }): Promise<Organisation> {
      if (!authPolicy.createOrg(ctx.principal)) throw new DomainError('forbidden', 'only the regulator creates organisations');
      if (!ORG_KINDS.includes(input.kind)) throw new DomainError('invalid', `kind must be one of ${ORG_KINDS.join(', ')}`);
      const org: Organisation = { id: deps.ids(), name: input.name.trim(), kind: input.kind, createdAt: deps.clock() };
      if (!org.name) throw new DomainError('invalid', 'name must not be empty');
      const created = await change(ctx, async (c) => {
        if (!(await authRepository(c.db).insertOrg(org))) return false;
        await c.audit({ action: 'org.create', subjectType: 'organisation', subject: org.name, detail: { kind: org.kind } });
        await c.publish('auth.org.created', { orgId: org.id, name: org.name, kind: org.kind });
        return true;
      });
      if (!created) throw new DomainError('conflict', `organisation "${org.name}" already exists`);
      return org;
    },

    /** Creates an organisation unless one with that name exists; returns it either way. */
    async ensureOrg(ctx: RequestContext, input: { name: string; kind: OrgKind }): Promise<Organisation> {
      const existing = await authRepository(deps.db).findOrg(input.name);
      if (existing) return existing;
      try {
        return await this.createOrg(ctx, input);
      } catch (err) {
        // Another instance created it meanwhile.
        if (err instanceof DomainError && err.kind === 'conflict') return requireOrg(input.name);
        throw err;
      }
    },

    async listOrgs(ctx: RequestContext): Promise<Organisation[]> {
      const visible = authPolicy.visibleOrgs(ctx.principal);
      const all = await authRepository(deps.db).listOrgs();
      return visible === 'all' ? all : all.filter((o) => o.id === visible);
    },
    getOrg: requireOrg,

    async createApiKey(ctx: RequestContext, input: { org: string; name?: string; scopes: string[] }) {
      const unknown = input.scopes.filter((s) => !isKnownScope(s));
      if (unknown.length) throw new DomainError('invalid', `unknown scope(s): ${unknown.join(', ')}`, { unknownScopes: unknown });
      if (input.scopes.length === 0) throw new DomainError('invalid', 'at least one scope is required');
      const org = await keyOrg(ctx, input.org);
      const beyond = beyondCeiling(input.scopes, org.kind);
      if (beyond.length)
        throw new DomainError('unprocessable', `an organisation of kind ${org.kind} may not hold: ${beyond.join(', ')}`, { scopesBeyondKind: beyond });
      if (!canGrant(ctx.principal.scopes, input.scopes, org.kind)) throw new DomainError('forbidden', 'a key may be given only scopes the caller holds itself');
      const generated = generateApiKey(deps.secret);
      const record: ApiKeyRecord = {
        id: deps.ids(),
        orgId: org.id,
        name: input.name?.trim() || `${org.name} key`,
        prefix: generated.prefix,
        keyHash: generated.hash,
        scopes: [...new Set(input.scopes)],
        createdAt: deps.clock(),
        lastUsedAt: null,
        revokedAt: null,
      };
      await change(ctx, async (c) => {
        await authRepository(c.db).insertKey(record);
        await c.audit({ action: 'apikey.create', subjectType: 'apikey', subject: `qk_${record.prefix}`, detail: { org: org.name, scopes: record.scopes } });
        await c.publish('auth.apikey.created', { keyId: record.id, orgId: org.id, scopes: record.scopes });
      });
      return { id: record.id, key: generated.key, prefix: record.prefix, name: record.name, orgId: org.id, scopes: record.scopes, createdAt: record.createdAt };
    },

    async listApiKeys(ctx: RequestContext, org: string) {
      return authRepository(deps.db).listKeys((await keyOrg(ctx, org)).id);
    },

    async revokeApiKey(ctx: RequestContext, id: string): Promise<void> {
      const key = await authRepository(deps.db).findKeyById(id);
      if (!key || !authPolicy.manageKeys(ctx.principal, key.orgId)) throw new DomainError('not_found', `API key ${id} does not exist`);
      const revoked = await change(ctx, async (c) => {
        const r = await authRepository(c.db).revokeKey(id, deps.clock());
        if (!r) return null;
        await c.audit({ action: 'apikey.revoke', subjectType: 'apikey', subject: `qk_${r.prefix}` });
        await c.publish('auth.apikey.revoked', { keyId: id, orgId: r.orgId, prefix: r.prefix });
        return r;
      });
      if (revoked) forget(revoked.prefix);
    },

    /** Drops a key from this instance's cache (on the `auth.apikey.revoked` event from another instance). */
    forgetKey(prefix: string): void {
      forget(prefix);
    },

    /**
     * The hot path: answers from the cache without touching the database, or `undefined` when it cannot (not
     * cached, expired, not yet verified, or `last_used_at` is due) and `authenticateApiKey` must be asked.
     */
    cachedApiKey(token: string): Principal | null | undefined {
      // Only a token equal to the verified one is answered here, so its prefix is taken without the full pattern.
      const prefix = token.startsWith('qk_') && token.charCodeAt(13) === 95 ? token.slice(3, 13) : keyPrefix(token);
      if (!prefix) return null;
      const cached = keyCache.get(prefix);
      const now = deps.clock().getTime();
      if (!usable(prefix, cached, now)) return undefined;
      if (cached.record.revokedAt) return null;
      if (!sameToken(cached.verified!, token)) return undefined;
      if (now - (lastTouched.get(cached.record.id) ?? 0) > LAST_USED_EVERY_MS) touch(cached.record.id, now);
      return cached.principal;
    },

    async authenticateApiKey(token: string): Promise<Principal | null> {
      const prefix = keyPrefix(token);
      if (!prefix) return null;
      const now = deps.clock().getTime();
      let cached = keyCache.get(prefix);
      const known = cached !== undefined && cached.verified !== null && sameToken(cached.verified, token);
      if (!cached || (cached.until < now && !(known && usable(prefix, cached, now)))) {
        cached = (await refreshKey(prefix)) ?? undefined;
        if (!cached) return null;
      }
      const { record } = cached;
      if (record.revokedAt) return null;
      // A token equal (in constant time) to the one that already matched skips the HMAC: the hot path is a compare.
      if (!(cached.verified !== null && sameToken(cached.verified, token))) {
        if (!sameHash(record.keyHash, hashToken(deps.secret, token))) return null;
        cached.verified = token;
      }
      if (now - (lastTouched.get(record.id) ?? 0) > LAST_USED_EVERY_MS) touch(record.id, now);
      return cached.principal;
    },

    async createUser(ctx: RequestContext, input: { email: string; role: string; org?: string; password?: string }) {
      const email = input.email.trim().toLowerCase();
      if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new DomainError('invalid', 'email is not a valid address');
      const roleScopes = ROLES[input.role];
      if (!roleScopes) throw new DomainError('invalid', `role must be one of ${Object.keys(ROLES).join(', ')}`);
      const org = input.org ? await requireOrg(input.org) : ctx.principal.orgId ? await requireOrg(ctx.principal.orgId) : null;
      if (!authPolicy.createUser(ctx.principal, org?.id ?? null))
        throw new DomainError('forbidden', 'only the regulator creates users for other organisations');
      if (!canGrant(ctx.principal.scopes, effectiveScopes(roleScopes, org?.kind ?? null), org?.kind ?? null))
        throw new DomainError('forbidden', `the caller may not create a user with role ${input.role}: it grants scopes the caller lacks`);
      const password = input.password ?? generatePassword();
      const id = deps.ids();
      const passwordHash = await argon2.hash(password, ARGON2);
      const created = await change(ctx, async (c) => {
        const ok = await authRepository(c.db).insertUser({
          id,
          email,
          orgId: org?.id ?? null,
          role: input.role,
          passwordHash,
          mustChangePassword: input.password === undefined,
          createdAt: deps.clock(),
        });
        if (!ok) return false;
        await c.audit({ action: 'user.create', subjectType: 'user', subject: maskEmail(email), detail: { role: input.role } });
        await c.publish('auth.user.created', { userId: id, role: input.role });
        return true;
      });
      if (!created) throw new DomainError('conflict', `user ${email} already exists`);
      return { id, email, role: input.role, oneTimePassword: password };
    },

    countUsers: () => authRepository(deps.db).countUsers(),

    async login(ctx: RequestContext, email: string, password: string) {
      const repo = authRepository(deps.db);
      const user = await repo.findUserByEmail(email.trim().toLowerCase());
      const now = deps.clock();
      if (!user) {
        await argon2.verify(await dummyHash, password);
        throw new DomainError('unauthenticated', 'wrong e-mail or password');
      }
      const lockedUntil = await repo.reserveLoginAttempt(user.id, lockAfter, new Date(now.getTime() + lockMs), now);
      if (lockedUntil) {
        throw new DomainError('locked', 'too many failed sign-ins; the account is locked for a while', {
          retryAfter: Math.max(1, Math.ceil((lockedUntil.getTime() - now.getTime()) / 1000)),
        });
      }
      if (!(await argon2.verify(user.passwordHash, password))) {
        await deps.audit.record(deps.db, ctx, { action: 'auth.login.failed', subjectType: 'user', subject: maskEmail(user.email) });
        throw new DomainError('unauthenticated', 'wrong e-mail or password');
      }
      const token = generateSessionToken();
      const expiresAt = new Date(now.getTime() + sessionMs);
      // Audited as the user who signed in.
      await change({ ...ctx, principal: { kind: 'user', id: user.id, label: user.email, orgId: user.orgId, orgKind: null, scopes: [] } }, async (c) => {
        await authRepository(c.db).resetLoginFailures(user.id);
        await authRepository(c.db).insertSession({ idHash: hashToken(deps.secret, token), userId: user.id, createdAt: now, expiresAt });
        await c.audit({ action: 'auth.login', subjectType: 'user', subject: maskEmail(user.email) });
      });
      return { token, expiresAt, user: { id: user.id, email: user.email, role: user.role, mustChangePassword: user.mustChangePassword } };
    },

    async authenticateSession(token: string): Promise<Principal | null> {
      const repo = authRepository(deps.db);
      const session = await repo.findSession(hashToken(deps.secret, token), deps.clock());
      if (!session) return null;
      const user = await repo.findUserWithOrg(session.userId);
      if (!user) return null;
      // Until a one-time password is replaced, the session may only change it (and see itself, and sign out).
      const scopes = user.mustChangePassword ? [] : effectiveScopes(ROLES[user.role] ?? [], user.orgKind);
      return { kind: 'user', id: user.id, label: user.email, orgId: user.orgId, orgKind: user.orgKind, scopes };
    },

    async logout(token: string): Promise<void> {
      await authRepository(deps.db).deleteSession(hashToken(deps.secret, token));
    },

    /** Changes a password and ends the user's other sessions (the one that asked, `keepSession`, stays). */
    async changePassword(ctx: RequestContext, userId: string, current: string, next: string, keepSession: string | null = null): Promise<void> {
      if (next.length < 12) throw new DomainError('invalid', 'the new password must have at least 12 characters');
      const user = await authRepository(deps.db).findUserById(userId);
      if (!user || !(await argon2.verify(user.passwordHash, current))) throw new DomainError('unauthenticated', 'the current password is wrong');
      const hash = await argon2.hash(next, ARGON2);
      await change(ctx, async (c) => {
        await authRepository(c.db).setPassword(user.id, hash);
        await authRepository(c.db).deleteOtherSessions(user.id, keepSession ? hashToken(deps.secret, keepSession) : null);
        await c.audit({ action: 'user.password.change', subjectType: 'user', subject: maskEmail(user.email) });
      });
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
