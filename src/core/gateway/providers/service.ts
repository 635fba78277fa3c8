import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { AuditService } from '../../../hub/audit/service.js';
import { can, type RequestContext } from '../../../hub/auth/principal.js';
import { newId } from '../../../hub/auth/tokens.js';
import type { SettingsReader } from '../../../hub/settings/registry.js';
import { MASK_PREFIX } from '../../../hub/settings/values.js';
import { decrypt, encrypt } from '../../../platform/crypto/keys.js';
import { isUniqueViolation } from '../../../platform/db/errors.js';
import { AppError, ConflictError } from '../../../platform/errors.js';
import type { EventBus } from '../../../platform/events/bus.js';
import { decodeCursor, type Page, toPage } from '../../../platform/http/pagination.js';
import type { Registry } from '../../registry/index.js';
import { DEFAULT_AZURE_API_VERSION } from '../clients/azure.js';
import { clientFor, type UpstreamClient, UpstreamError } from '../clients/index.js';
import { EgressDenied, type EgressPolicy } from '../egress.js';
import { upstreamSettings } from '../settings.js';
import type { Transport } from '../transport.js';
import {
  egressDenied,
  fieldError,
  invalidBaseUrl,
  providerDisabled,
  providerInUse,
  providerNameTaken,
  providerNotFound,
  remoteModelNotFound,
} from './errors.js';
import { keyHint, registryNameFor } from './names.js';
import type { ProviderRepository, ProviderRow } from './repository.js';
import type {
  CreateProviderBody,
  ProviderView,
  RegisteredModelView,
  RegisterModelBody,
  TestResultView,
  UpdateProviderBody,
} from './schema.js';

/** Binds a sealed key to its provider, so ciphertexts cannot be swapped between rows. */
const aad = (providerId: string) => `provider:${providerId}:api_key`;

export interface ProviderServiceDeps {
  repo: ProviderRepository;
  audit: AuditService;
  bus: EventBus;
  /** Subkey that seals API keys (derived for the gateway's purpose). */
  key: Buffer;
  egress: EgressPolicy;
  transport: Transport;
  settings: SettingsReader;
  registry: Registry;
  now?: () => Date;
}

/**
 * External providers: admins add, change, test and remove them; readers (developers) see them with
 * the key reduced to whether it is set. The key is sealed at rest and opened only to build a client;
 * it never reaches an answer, the audit, an event, or a log line.
 */
export function createProviderService(deps: ProviderServiceDeps) {
  const now = deps.now ?? (() => new Date());
  const limits = () => deps.settings.get(upstreamSettings);

  const openKey = (row: ProviderRow): string | undefined => {
    if (!row.apiKey) return undefined;
    try {
      return decrypt(deps.key, row.apiKey, aad(row.id));
    } catch {
      throw new ConflictError(
        'The stored API key cannot be decrypted (was POLAR_SECRET_KEY changed?); set the key again',
        'provider_key_unreadable',
      );
    }
  };

  const view = (ctx: RequestContext, r: ProviderRow): ProviderView => {
    const mayWrite = can(ctx.principal, 'gateway:write');
    let hint: string | null = null;
    if (mayWrite && r.apiKey) {
      try {
        hint = keyHint(openKey(r) ?? '');
      } catch {
        hint = null;
      }
    }
    return {
      id: r.id,
      name: r.name,
      kind: r.kind,
      description: r.description,
      base_url: r.baseUrl,
      deployment: r.deployment,
      api_version: r.apiVersion,
      api_key_set: r.apiKey !== null,
      ...(mayWrite ? { api_key_last4: hint } : {}),
      timeout_ms: r.timeoutMs,
      enabled: r.enabled,
      last_test: r.lastTest ?? null,
      created_by: r.createdBy,
      created_at: r.createdAt.toISOString(),
      updated_at: r.updatedAt.toISOString(),
    };
  };

  /** What the audit and events keep of a provider: never the key, only whether one is set. */
  const describe = (r: ProviderRow) => ({
    name: r.name,
    kind: r.kind,
    base_url: r.baseUrl,
    deployment: r.deployment,
    api_version: r.apiVersion,
    api_key_set: r.apiKey !== null,
    timeout_ms: r.timeoutMs,
    enabled: r.enabled,
  });

  const publish = (type: string, r: ProviderRow, data: Record<string, unknown> = {}) =>
    deps.bus.publish({
      topic: 'gateway',
      type,
      data: { provider_id: r.id, name: r.name, kind: r.kind, ...data },
    });

  const find = async (idOrName: string) => {
    const row = await deps.repo.byIdOrName(idOrName);
    if (!row) throw providerNotFound();
    return row;
  };

  /** The egress policy's verdict on a base URL (resolving its name now), normalised for storage. */
  const checkBaseUrl = async (raw: string): Promise<string> => {
    let url: URL;
    try {
      url = await deps.egress.checkUrlResolved(raw);
    } catch (err) {
      if (err instanceof EgressDenied) throw egressDenied(err.reason);
      throw err;
    }
    if (url.search || url.hash) throw invalidBaseUrl('no query string or fragment; give the API root');
    // Stored as the URL parser spells it (127.1 → 127.0.0.1), so every later check sees the same host.
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  };

  const clientOf = (row: ProviderRow, timeoutMs?: number): UpstreamClient => {
    const s = limits();
    return clientFor(
      {
        kind: row.kind,
        baseUrl: row.baseUrl,
        apiKey: openKey(row),
        deployment: row.deployment,
        apiVersion: row.apiVersion,
      },
      {
        transport: deps.transport,
        timeoutMs: timeoutMs ?? row.timeoutMs ?? s.timeout_ms,
        idleTimeoutMs: s.stream_idle_timeout_ms,
        maxResponseBytes: s.max_response_bytes,
      },
    );
  };

  /** The new sealed key of an update: unchanged (undefined), removed (null), or sealed anew. */
  const nextKey = (row: ProviderRow, sent: string | null | undefined, movedHost: boolean) => {
    if (sent === undefined) {
      if (movedHost && row.apiKey)
        throw fieldError(
          'api_key',
          'the base URL moves to another host; send the key again (or null to remove it) so the stored key never follows a changed URL',
          'api_key_required',
        );
      return undefined;
    }
    if (sent === null) return null;
    const current = openKey(row);
    if (current !== undefined && sent === keyHint(current) && !movedHost) return undefined;
    if (sent.startsWith('…') || sent.startsWith(MASK_PREFIX))
      throw fieldError('api_key', 'is a mask, not a key; send the new key', 'secret_is_mask');
    if (!/^[\x21-\x7e]+$/.test(sent) || sent.length === 0)
      throw fieldError('api_key', 'printable characters without spaces');
    return encrypt(deps.key, sent, aad(row.id));
  };

  return {
    async list(
      ctx: RequestContext,
      q: { limit: number; cursor?: string | undefined },
    ): Promise<Page<ProviderView>> {
      const after = decodeCursor(q.cursor, z.object({ name: z.string() }));
      const rows = await deps.repo.list(after?.name, q.limit);
      return toPage(
        rows,
        q.limit,
        (r) => view(ctx, r),
        (r) => ({ name: r.name.toLowerCase() }),
      );
    },

    async get(ctx: RequestContext, idOrName: string): Promise<ProviderView> {
      return view(ctx, await find(idOrName));
    },

    async create(ctx: RequestContext, body: CreateProviderBody): Promise<ProviderView> {
      const baseUrl = await checkBaseUrl(body.base_url);
      const id = newId();
      const at = now();
      const azure = body.kind === 'azure-openai';
      let row: ProviderRow;
      try {
        row = await deps.repo.insert({
          id,
          name: body.name,
          kind: body.kind,
          description: body.description,
          baseUrl,
          deployment: azure ? (body.deployment ?? null) : null,
          apiVersion: azure ? (body.api_version ?? DEFAULT_AZURE_API_VERSION) : null,
          apiKey: body.api_key ? encrypt(deps.key, body.api_key, aad(id)) : null,
          timeoutMs: body.timeout_ms,
          enabled: body.enabled,
          createdBy: ctx.principal?.userId ?? null,
          createdAt: at,
          updatedAt: at,
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw providerNameTaken(body.name);
        throw err;
      }
      await deps.audit.record(ctx, {
        action: 'provider.create',
        targetType: 'provider',
        targetId: row.id,
        details: describe(row),
      });
      await publish('provider.created', row);
      return view(ctx, row);
    },

    async update(ctx: RequestContext, idOrName: string, body: UpdateProviderBody): Promise<ProviderView> {
      const row = await find(idOrName);
      if (row.kind !== 'azure-openai')
        for (const f of ['deployment', 'api_version'] as const)
          if (body[f] !== undefined) throw fieldError(f, 'only for azure-openai providers');
      const baseUrl = body.base_url === undefined ? undefined : await checkBaseUrl(body.base_url);
      const movedHost = baseUrl !== undefined && new URL(baseUrl).origin !== new URL(row.baseUrl).origin;
      const apiKey = nextKey(row, body.api_key, movedHost);
      let after: ProviderRow | undefined;
      try {
        after = await deps.repo.update(row.id, {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(baseUrl !== undefined ? { baseUrl } : {}),
          ...(apiKey !== undefined ? { apiKey } : {}),
          ...(body.deployment !== undefined ? { deployment: body.deployment } : {}),
          ...(body.api_version !== undefined ? { apiVersion: body.api_version } : {}),
          ...(body.timeout_ms !== undefined ? { timeoutMs: body.timeout_ms } : {}),
          ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
          // A test of the old settings says nothing about the new ones.
          ...(baseUrl !== undefined || apiKey !== undefined ? { lastTest: null } : {}),
          updatedAt: now(),
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw providerNameTaken(body.name ?? row.name);
        throw err;
      }
      if (!after) throw providerNotFound();
      await deps.audit.record(ctx, {
        action: 'provider.update',
        targetType: 'provider',
        targetId: row.id,
        details: { before: describe(row), after: describe(after), api_key_changed: apiKey !== undefined },
      });
      await publish('provider.updated', after);
      return view(ctx, after);
    },

    async remove(ctx: RequestContext, idOrName: string): Promise<void> {
      const row = await find(idOrName);
      const using = await deps.repo.versionsUsing(row);
      if (using > 0) throw providerInUse(using);
      if (!(await deps.repo.remove(row.id))) throw providerNotFound();
      await deps.audit.record(ctx, {
        action: 'provider.delete',
        targetType: 'provider',
        targetId: row.id,
        details: describe(row),
      });
      await publish('provider.deleted', row);
    },

    /** One authenticated call to the provider; a failure is a result (ok: false), not an error. */
    async test(_ctx: RequestContext, idOrName: string): Promise<TestResultView> {
      const row = await find(idOrName);
      const client = clientOf(row, limits().test_timeout_ms);
      const t0 = performance.now();
      let error: TestResultView['error'];
      try {
        await client.ping();
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        error = {
          code: err.code,
          message: err.message,
          ...(err.upstreamStatus !== undefined ? { upstream_status: err.upstreamStatus } : {}),
        };
      }
      const latency = Math.round(performance.now() - t0);
      await deps.repo.setLastTest(row.id, {
        ok: !error,
        at: now().toISOString(),
        latency_ms: latency,
        ...(error ? { error_code: error.code } : {}),
      });
      await publish('provider.tested', row, { ok: !error, latency_ms: latency, error_code: error?.code });
      return { ok: !error, latency_ms: latency, ...(error ? { error } : {}) };
    },

    /** The provider's remote models; upstream failures are errors (502/504/429). */
    async models(_ctx: RequestContext, idOrName: string) {
      const row = await find(idOrName);
      const items = await clientOf(row, limits().test_timeout_ms).listModels();
      return { items };
    },

    /**
     * Registers a remote model as an `external` version: of the registry model `as` (created when
     * missing, with the given task), pointing at this provider's id and the remote model id.
     */
    async register(
      ctx: RequestContext,
      idOrName: string,
      body: RegisterModelBody,
    ): Promise<RegisteredModelView> {
      const row = await find(idOrName);
      const remote = await clientOf(row, limits().test_timeout_ms).listModels();
      if (!remote.some((m) => m.id === body.model)) throw remoteModelNotFound(body.model);
      const name = body.as ?? registryNameFor(body.model);
      if (!name) throw fieldError('as', 'the remote id makes no valid model name; give one');
      let created = false;
      try {
        await deps.registry.models.create(ctx, {
          name,
          task: body.task,
          description: body.description ?? `${body.model} served by provider ${row.name}`,
          tags: ['external', `provider:${row.name}`.slice(0, 64)],
          visibility: 'internal',
        });
        created = true;
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'model_name_taken')) throw err;
      }
      const model = await deps.registry.access.writable(ctx, name);
      if (!created && model.task !== body.task)
        throw new ConflictError(
          `The model '${model.name}' is a ${model.task} model, not ${body.task}`,
          'model_task_mismatch',
        );
      const version = await deps.registry.versions.createExternal(ctx, model.id, {
        external: { provider: row.id, model: body.model },
        source: `gateway:provider/${row.name}`.slice(0, 200),
      });
      await deps.audit.record(ctx, {
        action: 'provider.model.register',
        targetType: 'provider',
        targetId: row.id,
        details: {
          model: body.model,
          registry_model: model.name,
          version: version.version,
          created_model: created,
        },
      });
      return { model_id: model.id, model_name: model.name, created_model: created, version };
    },

    /**
     * For the routing engine: the client of an enabled provider, its key opened, limits from the
     * settings (or the provider's timeout). The client checks the egress policy on every connection.
     */
    async connect(idOrName: string): Promise<{ provider: ProviderView; client: UpstreamClient }> {
      const row = await find(idOrName);
      if (!row.enabled) throw providerDisabled();
      return { provider: view({ principal: null, requestId: 'system', ip: '' }, row), client: clientOf(row) };
    },
  };
}
export type ProviderService = ReturnType<typeof createProviderService>;
