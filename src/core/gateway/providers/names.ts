/** The key's last characters, fewer for short keys so the hint never gives most of it away. */
export function keyHint(key: string): string {
  const shown = Math.min(4, Math.floor(key.length / 4));
  return `…${shown > 0 ? key.slice(-shown) : ''}`;
}

/** A registry name from a remote id: `llama3.2:1b` → `llama3.2-1b`, `org/model` → `org-model`. */
export function registryNameFor(remote: string): string {
  return remote
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/-+$/, '')
    .slice(0, 128);
}
