/** Statistics of a chat dataset (every row has `messages: [{ role, content }, ...]`). */
export interface ChatStats {
  conversations: number;
  turns: { total: number; min: number; max: number; mean: number };
  /** Messages per role. */
  roles: Record<string, number>;
  /** Conversations with a system message, and those whose last message is the assistant's. */
  with_system: number;
  ending_with_assistant: number;
  content_chars: { total: number; max: number };
}

const MAX_ROLES = 32;

/**
 * Decides whether a dataset is in chat format, the shape fine-tuning trainers read: each row has a
 * non-empty `messages` array of objects with a string `role` and a string `content`. One row that
 * does not fit makes the dataset tabular (its `messages` is then an ordinary column).
 */
export class ChatProfile {
  private ok = true;
  private rows = 0;
  private total = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = 0;
  private readonly roles = new Map<string, number>();
  private withSystem = 0;
  private endingWithAssistant = 0;
  private chars = 0;
  private maxChars = 0;

  add(cells: [string, unknown][]): void {
    if (!this.ok) return;
    const messages = cells.find(([name]) => name === 'messages')?.[1];
    if (!Array.isArray(messages) || messages.length === 0) {
      this.ok = false;
      return;
    }
    let system = false;
    for (const m of messages) {
      const role = (m as { role?: unknown } | null)?.role;
      const content = (m as { content?: unknown } | null)?.content;
      if (typeof role !== 'string' || typeof content !== 'string') {
        this.ok = false;
        return;
      }
      if (role === 'system') system = true;
      if (this.roles.has(role) || this.roles.size < MAX_ROLES)
        this.roles.set(role, (this.roles.get(role) ?? 0) + 1);
      this.chars += content.length;
      this.maxChars = Math.max(this.maxChars, content.length);
    }
    this.rows++;
    this.total += messages.length;
    this.min = Math.min(this.min, messages.length);
    this.max = Math.max(this.max, messages.length);
    if (system) this.withSystem++;
    if ((messages[messages.length - 1] as { role: string }).role === 'assistant') this.endingWithAssistant++;
  }

  /** The chat statistics, or null when some row is not a conversation. */
  result(): ChatStats | null {
    if (!this.ok || this.rows === 0) return null;
    return {
      conversations: this.rows,
      turns: {
        total: this.total,
        min: this.min,
        max: this.max,
        mean: Number((this.total / this.rows).toPrecision(12)),
      },
      roles: Object.fromEntries(this.roles),
      with_system: this.withSystem,
      ending_with_assistant: this.endingWithAssistant,
      content_chars: { total: this.chars, max: this.maxChars },
    };
  }
}
