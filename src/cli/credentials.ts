import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/** What `polar login` remembers. The token is a session token: treat the file like a password. */
const credentialsSchema = z.object({
  url: z.string(),
  token: z.string(),
  username: z.string(),
  expires_at: z.string().optional(),
});
export type Credentials = z.infer<typeof credentialsSchema>;

export const credentialsPath = (configDir: string) => join(configDir, 'credentials.json');

/** The saved login, or null when there is none or the file is not ours to understand. */
export async function readCredentials(configDir: string): Promise<Credentials | null> {
  let text: string;
  try {
    text = await readFile(credentialsPath(configDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const parsed = credentialsSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * Written to a temporary file created 0600 and renamed over the old one, so the token is never
 * readable by others, not even for a moment, and a crash cannot leave half a file.
 */
export async function saveCredentials(configDir: string, creds: Credentials): Promise<string> {
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  const file = credentialsPath(configDir);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
  return file;
}

/** Returns whether a file was removed. */
export async function removeCredentials(configDir: string): Promise<boolean> {
  try {
    await rm(credentialsPath(configDir));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
