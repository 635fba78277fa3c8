import type { Command } from 'commander';

/** What tab completion knows: command names at each level and the options each command takes. */
export interface CompletionNode {
  children: Map<string, CompletionNode>;
  options: string[];
}

/** Words the shell itself understands at the start of a line. */
export const SHELL_WORDS = ['help', 'exit', 'quit'];

/** Walks a Commander program once; the shell completes from this snapshot. */
export function completionTree(cmd: Command, inherited: string[] = []): CompletionNode {
  const own = cmd.options.flatMap((o) => (o.long ? [o.long] : []));
  const options = [...new Set([...inherited, ...own, '--help'])].sort();
  const children = new Map<string, CompletionNode>();
  // Global options (--json, --url, --token) are valid on every command below the root.
  const passDown = cmd.parent ? inherited : own;
  for (const sub of cmd.commands) {
    if (sub.name() === 'help') continue;
    children.set(sub.name(), completionTree(sub, passDown));
  }
  return { children, options };
}

/**
 * readline's completer: candidates for the word under the cursor, given the words before it.
 * Returns [matches, the fragment they replace], as readline expects.
 */
export function complete(root: CompletionNode, line: string): [string[], string] {
  const words = line.trimStart().split(/\s+/);
  const fragment = words.pop() ?? '';
  const before = words[0] === 'help' ? words.slice(1) : words;
  let node = root;
  for (const w of before) {
    if (w.startsWith('-')) continue;
    const next = node.children.get(w);
    if (!next) break;
    node = next;
  }
  let candidates: string[];
  if (fragment.startsWith('-')) {
    candidates = node === root ? [] : node.options;
  } else {
    candidates = [...node.children.keys()];
    if (words.length === 0) candidates = [...candidates, ...SHELL_WORDS];
  }
  // The trailing space lets the next Tab go on with the next word, as in bash.
  const matches = candidates
    .filter((c) => c.startsWith(fragment))
    .sort()
    .map((c) => `${c} `);
  return [matches, fragment];
}
