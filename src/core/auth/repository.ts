import type { Executor } from '../db/database.js';
import { sql, type Selectable } from 'kysely';
import type { AuthUsersTable, OrgKind } from '../db/types.js';

export interface Organisation {
  id: string;
  name: string;
  kind: OrgKind;
  createdAt: Date;
}

export interface ApiKeyRecord {
  id: string;
  orgId: string;
  name: string;
  prefix: string;
  keyHash: string;
  scopes: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** A key with its organisation's kind, as the verifier needs it. */
export interface ApiKeyWithOrg extends ApiKeyRecord {
  orgKind: OrgKind;
}

export interface UserRecord {
  id: string;
  email: string;
  orgId: string | null;
  role: string;
  passwordHash: string;
  mustChangePassword: boolean;
  failedLogins: number;
  lockedUntil: Date | null;
}

const toOrg = (r: { id: string; name: string; kind: OrgKind; created_at: Date }): Organisation => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  createdAt: r.created_at,
});

export function authRepository(db: Executor) {
  return {
    async insertOrg(org: Organisation): Promise<boolean> {
      const row = await db
        .insertInto('auth_organisations')
        .values({ id: org.id, name: org.name, kind: org.kind, created_at: org.createdAt })
        .onConflict((oc) => oc.column('name').doNothing())
        .returning('id')
        .executeTakeFirst();
      return row !== undefined;
    },
    async findOrg(idOrName: string): Promise<Organisation | null> {
      const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrName);
      const row = await db
        .selectFrom('auth_organisations')
        .selectAll()
        .where(isUuid ? 'id' : 'name', '=', idOrName)
        .executeTakeFirst();
      return row ? toOrg(row) : null;
    },
    async orgsByIds(ids: string[]): Promise<Organisation[]> {
      return (await db.selectFrom('auth_organisations').selectAll().where('id', 'in', ids).execute()).map(toOrg);
    },
    async listOrgs(): Promise<Organisation[]> {
      return (await db.selectFrom('auth_organisations').selectAll().orderBy('name').execute()).map(toOrg);
    },
    async insertKey(k: ApiKeyRecord): Promise<void> {
      await db
        .insertInto('auth_api_keys')
        .values({ id: k.id, org_id: k.orgId, name: k.name, prefix: k.prefix, key_hash: k.keyHash, scopes: k.scopes, created_at: k.createdAt })
        .execute();
    },
    async findKeyByPrefix(prefix: string): Promise<ApiKeyWithOrg | null> {
      const r = await db
        .selectFrom('auth_api_keys as k')
        .innerJoin('auth_organisations as o', 'o.id', 'k.org_id')
        .selectAll('k')
        .select('o.kind as org_kind')
        .where('k.prefix', '=', prefix)
        .executeTakeFirst();
      return r
        ? {
            id: r.id,
            orgId: r.org_id,
            orgKind: r.org_kind,
            name: r.name,
            prefix: r.prefix,
            keyHash: r.key_hash,
            scopes: r.scopes,
            createdAt: r.created_at,
            lastUsedAt: r.last_used_at,
            revokedAt: r.revoked_at,
          }
        : null;
    },
    async listKeys(orgId: string): Promise<Omit<ApiKeyRecord, 'keyHash'>[]> {
      const rows = await db.selectFrom('auth_api_keys').selectAll().where('org_id', '=', orgId).orderBy('created_at').execute();
      return rows.map((r) => ({
        id: r.id,
        orgId: r.org_id,
        name: r.name,
        prefix: r.prefix,
        scopes: r.scopes,
        createdAt: r.created_at,
        lastUsedAt: r.last_used_at,
        revokedAt: r.revoked_at,
      }));
    },
    async revokeKey(id: string, at: Date): Promise<{ orgId: string; prefix: string } | null> {
      const r = await db
        .updateTable('auth_api_keys')
        .set({ revoked_at: at })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .returning(['org_id', 'prefix'])
        .executeTakeFirst();
      return r ? { orgId: r.org_id, prefix: r.prefix } : null;
    },
    async findKeyById(id: string): Promise<{ orgId: string; revokedAt: Date | null } | null> {
      const r = await db.selectFrom('auth_api_keys').select(['org_id', 'revoked_at']).where('id', '=', id).executeTakeFirst();
      return r ? { orgId: r.org_id, revokedAt: r.revoked_at } : null;
    },
    /** Moves a key's last use forward only: two writes that land out of order keep the later time. */
    async touchKey(id: string, at: Date): Promise<void> {
      await db
        .updateTable('auth_api_keys')
        .set({ last_used_at: at })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
        .execute();
    },
    async insertUser(u: Omit<UserRecord, 'failedLogins' | 'lockedUntil'> & { createdAt: Date }): Promise<boolean> {
      const row = await db
        .insertInto('auth_users')
        .values({
          id: u.id,
          email: u.email,
          org_id: u.orgId,
          role: u.role,
          password_hash: u.passwordHash,
          must_change_password: u.mustChangePassword,
          created_at: u.createdAt,
        })
        .onConflict((oc) => oc.column('email').doNothing())
        .returning('id')
        .executeTakeFirst();
      return row !== undefined;
    },
    async findUserByEmail(email: string): Promise<UserRecord | null> {
      const r = await db.selectFrom('auth_users').selectAll().where('email', '=', email).executeTakeFirst();
      return r ? toUser(r) : null;
    },
    async findUserById(id: string): Promise<UserRecord | null> {
      const r = await db.selectFrom('auth_users').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toUser(r) : null;
    },
    /** A user with the kind of their organisation (null for platform staff), as the session check needs it. */
    async findUserWithOrg(id: string): Promise<(UserRecord & { orgKind: OrgKind | null }) | null> {
      const r = await db
        .selectFrom('auth_users as u')
        .leftJoin('auth_organisations as o', 'o.id', 'u.org_id')
        .selectAll('u')
        .select('o.kind as org_kind')
        .where('u.id', '=', id)
        .executeTakeFirst();
      return r ? { ...toUser(r), orgKind: r.org_kind } : null;
    },
    /**
     * Counts a sign-in attempt before its password is checked, in one statement, so parallel attempts cannot all
     * pass the limit: the attempt that reaches `lockAfter` locks the account until `lockUntil`; a locked account
     * takes no attempt. A successful sign-in resets the count. Returns null when the attempt may go on, else the
     * end of the lock.
     */
    async reserveLoginAttempt(id: string, lockAfter: number, lockUntil: Date, now: Date): Promise<Date | null> {
      const taken = await db
        .updateTable('auth_users')
        .set((eb) => ({
          failed_logins: eb('failed_logins', '+', 1),
          locked_until: eb
            .case()
            .when('failed_logins', '>=', lockAfter - 1)
            .then(sql<Date>`${lockUntil}::timestamptz`)
            .else(sql<null>`null::timestamptz`)
            .end(),
        }))
        .where('id', '=', id)
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
        .returning('id')
        .executeTakeFirst();
      if (taken) return null;
      const r = await db.selectFrom('auth_users').select('locked_until').where('id', '=', id).executeTakeFirst();
      return r?.locked_until ?? now;
    },
    async countUsers(): Promise<number> {
      const r = await db
        .selectFrom('auth_users')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async resetLoginFailures(id: string): Promise<void> {
      await db.updateTable('auth_users').set({ failed_logins: 0, locked_until: null }).where('id', '=', id).execute();
    },
    async setPassword(id: string, hash: string): Promise<void> {
      await db.updateTable('auth_users').set({ password_hash: hash, must_change_password: false }).where('id', '=', id).execute();
    },
    async insertSession(s: { idHash: string; userId: string; createdAt: Date; expiresAt: Date }): Promise<void> {
      await db.insertInto('auth_sessions').values({ id_hash: s.idHash, user_id: s.userId, created_at: s.createdAt, expires_at: s.expiresAt }).execute();
    },
    async findSession(idHash: string, now: Date): Promise<{ userId: string } | null> {
      const r = await db.selectFrom('auth_sessions').select('user_id').where('id_hash', '=', idHash).where('expires_at', '>', now).executeTakeFirst();
      return r ? { userId: r.user_id } : null;
    },
    async deleteOtherSessions(userId: string, keepIdHash: string | null): Promise<void> {
      let q = db.deleteFrom('auth_sessions').where('user_id', '=', userId);
      if (keepIdHash) q = q.where('id_hash', '!=', keepIdHash);
      await q.execute();
    },
    async deleteSession(idHash: string): Promise<void> {
      await db.deleteFrom('auth_sessions').where('id_hash', '=', idHash).execute();
    },
  };
}

function toUser(r: Selectable<AuthUsersTable>): UserRecord {
  return {
    id: r.id,
    email: r.email,
    orgId: r.org_id,
    role: r.role,
    passwordHash: r.password_hash,
    mustChangePassword: r.must_change_password,
    failedLogins: r.failed_logins,
    lockedUntil: r.locked_until,
  };
}
