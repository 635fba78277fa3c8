import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { confinedDir, emptyDir, OutsideDataDirError, sizeOf } from './files.js';
import { createMaintenanceHooks } from './maintenance.js';

let root: string;
let dataDir: string;
let outside: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'polar-files-'));
  dataDir = join(root, 'data');
  outside = join(root, 'outside');
  mkdirSync(dataDir);
  mkdirSync(outside);
  writeFileSync(join(outside, 'precious.bin'), Buffer.alloc(1000));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('confinedDir', () => {
  it('answers a real folder of the data dir, null when missing', async () => {
    mkdirSync(join(dataDir, 'tmp'));
    expect(await confinedDir(dataDir, 'tmp')).toBe(join(dataDir, 'tmp'));
    expect(await confinedDir(dataDir, 'cache')).toBeNull();
  });

  it('refuses a folder that is a link, even to a place inside the data dir', async () => {
    symlinkSync(outside, join(dataDir, 'tmp'));
    await expect(confinedDir(dataDir, 'tmp')).rejects.toThrow(OutsideDataDirError);
    mkdirSync(join(dataDir, 'real'));
    symlinkSync(join(dataDir, 'real'), join(dataDir, 'cache'));
    await expect(confinedDir(dataDir, 'cache')).rejects.toThrow(OutsideDataDirError);
  });

  it('refuses names that are not one plain path segment, and files', async () => {
    for (const name of ['..', '../outside', 'a/b', '', '.']) {
      await expect(confinedDir(dataDir, name), name).rejects.toThrow(OutsideDataDirError);
    }
    writeFileSync(join(dataDir, 'tmp'), 'x');
    await expect(confinedDir(dataDir, 'tmp')).rejects.toThrow(OutsideDataDirError);
  });
});

describe('emptyDir and sizeOf', () => {
  it('removes everything inside, counts bytes, and never touches what links point to', async () => {
    const tmp = join(dataDir, 'tmp');
    mkdirSync(join(tmp, 'upload-1', 'parts'), { recursive: true });
    writeFileSync(join(tmp, 'a.bin'), Buffer.alloc(300));
    writeFileSync(join(tmp, 'upload-1', 'parts', 'p1'), Buffer.alloc(200));
    symlinkSync(outside, join(tmp, 'upload-1', 'escape'));
    symlinkSync(join(outside, 'precious.bin'), join(tmp, 'file-link'));
    const linkSizes =
      (await sizeOf(join(tmp, 'upload-1', 'escape'))) + (await sizeOf(join(tmp, 'file-link')));
    expect(await sizeOf(tmp)).toBe(500 + linkSizes);
    const freed = await emptyDir(tmp);
    expect(freed).toBe(500 + linkSizes);
    expect(readdirSync(tmp)).toEqual([]);
    expect(existsSync(join(outside, 'precious.bin'))).toBe(true);
    expect(await sizeOf(outside)).toBe(1000);
  });

  it('counts a missing path as empty', async () => {
    expect(await sizeOf(join(dataDir, 'nothing'))).toBe(0);
  });
});

describe('maintenance hooks', () => {
  it('collects cleanup tasks per operation and refuses duplicates', () => {
    const h = createMaintenanceHooks();
    const task = { name: 'blobs', run: async () => ({ bytesFreed: 1 }) };
    h.addCleanupTask('clean_models', task);
    expect(h.tasksFor('clean_models')).toEqual([task]);
    expect(h.tasksFor('clean_cache')).toEqual([]);
    expect(() => h.addCleanupTask('clean_models', task)).toThrow(/already registered/);
  });

  it('answers the busy reasons of the checks that report busy', async () => {
    const h = createMaintenanceHooks();
    expect(await h.busyReasons()).toEqual([]);
    h.addBusyCheck('inference', () => '2 generations in progress');
    h.addBusyCheck('training', async () => null);
    expect(await h.busyReasons()).toEqual(['inference: 2 generations in progress']);
    expect(() => h.addBusyCheck('training', () => null)).toThrow(/already registered/);
  });

  it('reports no loaded model until a runtime supplies its status', async () => {
    const h = createMaintenanceHooks();
    expect(await h.modelStatus()).toEqual({ loaded_model: null, model_memory_usage: 0 });
    h.setModelStatusSource(async () => ({ loaded_model: 'tiny-llama', model_memory_usage: 1234 }));
    expect(await h.modelStatus()).toEqual({ loaded_model: 'tiny-llama', model_memory_usage: 1234 });
  });
});
