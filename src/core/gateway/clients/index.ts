import type { ProviderKind } from '../tables.js';
import { azureClient, DEFAULT_AZURE_API_VERSION } from './azure.js';
import { ollamaClient } from './ollama.js';
import { openAIClient } from './openai.js';
import type { ClientConfig, UpstreamClient } from './types.js';

export { UpstreamError, type UpstreamErrorCode } from './errors.js';
export type * from './types.js';

/** A provider's saved connection settings, its key opened: all a client needs. */
export interface ProviderConnection {
  kind: ProviderKind;
  baseUrl: string;
  apiKey?: string | undefined;
  deployment?: string | null | undefined;
  apiVersion?: string | null | undefined;
}

/** The client for a provider's kind. */
export function clientFor(
  p: ProviderConnection,
  limits: Omit<ClientConfig, 'baseUrl' | 'apiKey'>,
): UpstreamClient {
  const cfg: ClientConfig = { ...limits, baseUrl: p.baseUrl, apiKey: p.apiKey };
  switch (p.kind) {
    case 'openai':
      return openAIClient(cfg);
    case 'azure-openai':
      return azureClient({
        ...cfg,
        deployment: p.deployment ?? '',
        apiVersion: p.apiVersion ?? DEFAULT_AZURE_API_VERSION,
      });
    case 'ollama':
      return ollamaClient(cfg);
  }
}
