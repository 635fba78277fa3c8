import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openPglite } from './client.js';
import { buildPgliteTemplate, preparePgliteDir } from './pglite-datadir.js';

const root = mkdtempSync(join(tmpdir(), 'polar-pglite-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Rows<T> = { rows: T[] };

describe('PGlite data dir', () => {
  // One initdb (in a child process) serves the whole file as the template the other cases copy.
  const template = join(root, 'template');
  const built = buildPgliteTemplate(template);

  it('builds the template once and keeps it while PGlite does not change', async () => {
    expect(await built).toBe('built');
    expect(existsSync(join(template, 'PG_VERSION'))).toBe(true);
    expect(await buildPgliteTemplate(template)).toBe('current');
  });

  it('creates a new data dir from the template, without staging leftovers', async () => {
    await built;
    const dir = join(root, 'from-template');
    expect(await preparePgliteDir(dir, { template })).toBe('template');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(await preparePgliteDir(dir, { template })).toBe('existing');
    expect(readdirSync(root).filter((n) => n.includes('.init-'))).toEqual([]);
  });

  it('initializes in a child process when there is no template', async () => {
    const dir = join(root, 'no-template');
    expect(await preparePgliteDir(dir, { template: join(root, 'missing') })).toBe('initdb');
    expect(existsSync(join(dir, 'PG_VERSION'))).toBe(true);
  });

  it('refuses a non-empty directory that holds no database', async () => {
    const dir = join(root, 'not-a-db');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    await expect(preparePgliteDir(dir, { template })).rejects.toThrow(/not empty/);
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('opens with small shared buffers and keeps committed rows across a restart', async () => {
    await built;
    const dir = join(root, 'durable');
    await preparePgliteDir(dir, { template });
    const first = await openPglite(dir);
    const shown = (await first.db.execute(sql`show shared_buffers`)) as unknown as Rows<{
      shared_buffers: string;
    }>;
    expect(shown.rows[0]?.shared_buffers).toBe('16MB');
    await first.db.execute(sql`create table notes (body text)`);
    await first.db.execute(sql`insert into notes values ('kept')`);
    await first.close();

    const again = await openPglite(dir);
    const res = (await again.db.execute(sql`select body from notes`)) as unknown as Rows<{ body: string }>;
    expect(res.rows.map((r) => r.body)).toEqual(['kept']);
    await again.close();
  });

  it('keeps a committed row when the process is killed without closing', async () => {
    await built;
    const dir = join(root, 'killed');
    await preparePgliteDir(dir, { template });
    const client = new URL('./client.ts', import.meta.url).pathname;
    const code = `import { openPglite } from ${JSON.stringify(client)};
import { sql } from 'drizzle-orm';
const d = await openPglite(process.argv[1]);
await d.db.execute(sql\`create table notes (body text)\`);
await d.db.execute(sql\`insert into notes values ('committed')\`);
process.stdout.write('written\\n');
setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => c.toString().includes('written') && resolve());
      child.once('exit', (c) => reject(new Error(`child exited with ${c}`)));
    });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    const after = await openPglite(dir);
    const res = (await after.db.execute(sql`select body from notes`)) as unknown as Rows<{ body: string }>;
    expect(res.rows.map((r) => r.body)).toEqual(['committed']);
    await after.close();
  });
});
