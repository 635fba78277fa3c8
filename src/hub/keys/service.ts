import { z } from 'zod';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../platform/errors.js';
import { type EventBus, INTERNAL_TOPIC } from '../../platform/events/bus.js';
import { decodeCursor, type Page, toPage } from '../../platform/http/pagination.js';
import type { AuditService } from '../audit/service.js';
import { can, type RequestContext } from '../auth/principal.js';
import { issueToken, KEY_PREFIX } from '../auth/tokens.js';
import type { ApiKeyRow, KeyRepository } from './repository.js';
import type { CreatedKey, CreateKeyInput, KeyView } from './schema.js';

/** A bound per user so a leaked session cannot mint keys without limit. */
export const MAX_KEYS_PER_USER = 100;

const toKeyView = (k: ApiKeyRow): KeyView => ({
  id: k.id,
  name: k.name,
  user_id: k.userId,
  scopes: k.scopes,
  last4: k.last4,
  created_at: k.createdAt.toISOString(),
  expires_at: k.expiresAt?.toISOString() ?? null,
  revoked_at: k.revokedAt?.toISOString() ?? null,
  last_used_at: k.lastUsedAt?.toISOString() ?? null,
});

const notFound = () => new NotFoundError('API key', 'key_not_found');

export function createKeyService(deps: {
  keys: KeyRepository;
  audit: AuditService;
  bus: EventBus;
  now?: () => Date;
}) {
  const now = deps.now ?? (() => new Date());

  /** The owner sees their keys; an admin sees anyone's. Anything else is "not found". */
  const visible = async (ctx: RequestContext, id: string): Promise<ApiKeyRow> => {
    const k = await deps.keys.byId(id);
    const p = ctx.principal!;
    if (!k || (k.userId !== p.userId && !can(p, 'users:write'))) throw notFound();
    return k;
  };

  return {
    async create(ctx: RequestContext, input: CreateKeyInput): Promise<CreatedKey> {
      const p = ctx.principal!;
      // A key may carry at most what its creator holds right now (for a key-authenticated caller,
      // that is the calling key's own scopes).
      const scopes = input.scopes ?? [...p.permissions];
      const extra = scopes.filter((s) => !p.permissions.has(s));
      if (extra.length > 0) {
        await deps.audit.record(ctx, {
          action: 'key.create',
          outcome: 'denied',
          details: { name: input.name, refused_scopes: extra },
        });
        throw new ForbiddenError(
          `You cannot grant scopes you do not have: ${extra.join(', ')}`,
          'scope_not_allowed',
        );
      }
      const t = now();
      let expiresAt: Date | null = null;
      if (input.expires_at) {
        expiresAt = new Date(input.expires_at);
        if (expiresAt.getTime() <= t.getTime()) {
          throw new ValidationError('expires_at must be in the future', [
            { path: 'body.expires_at', message: 'must be in the future' },
          ]);
        }
      } else if (input.expires_in_days) {
        expiresAt = new Date(t.getTime() + input.expires_in_days * 86_400_000);
      }
      if ((await deps.keys.countActive(p.userId)) >= MAX_KEYS_PER_USER) {
        throw new ConflictError(
          `You already have ${MAX_KEYS_PER_USER} active keys; revoke one first`,
          'too_many_keys',
        );
      }
      const issued = issueToken(KEY_PREFIX);
      const row = await deps.keys.insert({
        id: issued.id,
        userId: p.userId,
        name: input.name,
        secretHash: issued.secretHash,
        last4: issued.token.slice(-4),
        scopes: [...new Set(scopes)].sort(),
        createdAt: t,
        expiresAt,
      });
      await deps.audit.record(ctx, {
        action: 'key.create',
        targetType: 'api_key',
        targetId: row.id,
        details: { name: row.name, scopes: row.scopes, expires_at: row.expiresAt?.toISOString() ?? null },
      });
      return { ...toKeyView(row), key: issued.token };
    },

    async list(
      ctx: RequestContext,
      q: {
        limit: number;
        cursor?: string | undefined;
        user_id?: string | undefined;
        all?: boolean | undefined;
        include_revoked?: boolean | undefined;
      },
    ): Promise<Page<KeyView>> {
      const p = ctx.principal!;
      const admin = can(p, 'users:write');
      if ((q.all || (q.user_id && q.user_id !== p.userId)) && !admin) {
        throw new ForbiddenError("Only an admin can list other users' keys", 'forbidden_field');
      }
      const afterId = decodeCursor(q.cursor, z.string());
      const userId = q.all ? undefined : (q.user_id ?? p.userId);
      const rows = await deps.keys.list({
        userId,
        includeRevoked: q.include_revoked ?? false,
        afterId,
        limit: q.limit,
      });
      return toPage(rows, q.limit, toKeyView, (r) => r.id);
    },

    async get(ctx: RequestContext, id: string): Promise<KeyView> {
      return toKeyView(await visible(ctx, id));
    },

    async revoke(ctx: RequestContext, id: string): Promise<KeyView> {
      const k = await visible(ctx, id);
      const revoked = (await deps.keys.revoke(k.id, now())) ?? k;
      if (!k.revokedAt) {
        await deps.bus.publish({
          topic: INTERNAL_TOPIC,
          type: 'principal.revoked',
          data: { user_id: k.userId, session_ids: [], key_ids: [k.id], reason: 'key_revoked' },
        });
        await deps.audit.record(ctx, {
          action: 'key.revoke',
          targetType: 'api_key',
          targetId: k.id,
          details: { name: k.name, owner: k.userId },
        });
      }
      return toKeyView(revoked);
    },
  };
}
export type KeyService = ReturnType<typeof createKeyService>;
