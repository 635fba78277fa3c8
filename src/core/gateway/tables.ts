import { sql } from 'drizzle-orm';
import { boolean, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from '../../hub/tables.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** How Polar talks to a provider: OpenAI's API shape, Azure OpenAI's deployment URLs, or Ollama's own API. */
export const PROVIDER_KINDS = ['openai', 'azure-openai', 'ollama'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** The outcome of the last connectivity test, kept so a list shows which providers answer. */
export interface ProviderTestResult {
  ok: boolean;
  at: string;
  latency_ms: number;
  error_code?: string | undefined;
}

/**
 * External model providers an admin configured. The base URL passed the egress policy when it was
 * saved and is checked again on every connection. The API key is sealed (AES-256-GCM, bound to the
 * provider's id) and never leaves the server: answers show only whether one is set and its last
 * characters.
 */
export const providers = pgTable(
  'providers',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    kind: text('kind', { enum: PROVIDER_KINDS }).notNull(),
    description: text('description').notNull().default(''),
    /** openai: up to and including /v1; azure-openai: the resource endpoint; ollama: the server root. */
    baseUrl: text('base_url').notNull(),
    /** azure-openai only: the deployment every request goes to. */
    deployment: text('deployment'),
    /** azure-openai only: the api-version query parameter. */
    apiVersion: text('api_version'),
    /** Sealed API key, or null for providers that take none (a local vLLM, LM Studio, Ollama). */
    apiKey: text('api_key'),
    /** Longest a non-streaming upstream call may take; null uses the gateway settings. */
    timeoutMs: integer('timeout_ms'),
    enabled: boolean('enabled').notNull().default(true),
    lastTest: jsonb('last_test').$type<ProviderTestResult>(),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('providers_name_lower_idx').on(sql`lower(${t.name})`)],
);
