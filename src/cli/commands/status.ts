import type { Command } from 'commander';
import type { SystemStatus } from '../../hub/admin/schema.js';
import type { HealthComponent } from '../../hub/health/schema.js';
import type { ApiClient } from '../client.js';
import { type CliContext, clientOf, globalsOf } from '../context.js';
import { ApiError } from '../errors.js';
import { bytes, fields, isObject, json, time, tree } from '../output.js';

/** Calls a route that may be refused; a refusal becomes a note instead of an error. */
async function optional<T>(call: () => Promise<T>): Promise<{ value: T | null; note: string | null }> {
  try {
    return { value: await call(), note: null };
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 401) return { value: null, note: 'sign in as an admin to see it' };
    if (err.status === 403) return { value: null, note: 'needs the admin:system permission' };
    if (err.status === 404) return { value: null, note: 'not offered by this node' };
    throw err;
  }
}

/** Readiness answers 503 with a problem when the node is not ready: that is a result, not a failure. */
async function readiness(client: ApiClient): Promise<{ ready: boolean; answer: unknown }> {
  try {
    return { ready: true, answer: await client.get('/health/ready') };
  } catch (err) {
    if (err instanceof ApiError && err.status === 503) return { ready: false, answer: err.body };
    throw err;
  }
}

export function usage(u: { used?: number; total?: number; usage_percent?: number } | undefined): string {
  if (!u) return '-';
  const pct = u.usage_percent === undefined ? '' : ` (${u.usage_percent.toFixed(1)}%)`;
  return `${bytes(u.used)} of ${bytes(u.total)}${pct}`;
}

// The `?.` and `?? '-'` stay although the type says every field is there: a node of another
// version may answer with fewer, and the CLI should still print what it got.
export function systemFields(s: SystemStatus): string {
  return fields([
    ['status', s.status ?? '-'],
    ['disk', usage(s.disk_usage)],
    ['memory', usage(s.memory_usage)],
    ['loaded model', s.model_status?.loaded_model ?? 'none'],
    ['last cleanup', time(s.last_cleanup)],
  ]);
}

function checks(answer: unknown): [string, string][] {
  const c = isObject(answer) && isObject(answer.checks) ? answer.checks : {};
  return Object.entries(c).map(([name, v]) => {
    const comp = v as HealthComponent;
    const msg = comp.message ? `, ${comp.message}` : '';
    return [`  ${name}`, `${comp.status} (${comp.latency_ms} ms${msg})`];
  });
}

export function registerStatus(program: Command, ctx: CliContext) {
  program
    .command('status')
    .description("A node's readiness and, for admins, its system status (disk, memory, loaded model)")
    .action(async (_opts: unknown, cmd: Command) => {
      const client = await clientOf(ctx, cmd);
      const ready = await readiness(client);
      const system = await optional(() => client.get<SystemStatus>('/api/v1/admin/system-status'));
      if (globalsOf(ctx, cmd).json) {
        ctx.out(json({ url: client.baseUrl, ready: ready.answer, system_status: system.value }));
      } else {
        const lines: [string, string][] = [
          ['node', client.baseUrl],
          ['ready', ready.ready ? 'yes' : 'NO'],
          ...checks(ready.answer),
        ];
        if (!ready.ready && isObject(ready.answer) && typeof ready.answer.detail === 'string') {
          lines.push(['reason', ready.answer.detail]);
        }
        ctx.out(fields(lines));
        ctx.out(
          system.value
            ? `\nSystem status\n${isObject(system.value) ? systemFields(system.value) : tree(system.value)}`
            : `\nSystem status: ${system.note}`,
        );
      }
      if (!ready.ready) throw new Error('The node is not ready');
    });
}
