import { openAIShapedClient, under } from './openai.js';
import type { ClientConfig, UpstreamClient } from './types.js';

/** The api-version new providers get when none is given: a generally available data-plane version. */
export const DEFAULT_AZURE_API_VERSION = '2024-10-21';

/**
 * Azure OpenAI: the OpenAI wire format at deployment URLs
 * ({endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…) with the key in an
 * `api-key` header. A provider is one deployment, so its model list is that deployment; the
 * connectivity test asks the resource's model list, which needs a valid key but no deployment call.
 */
export function azureClient(cfg: ClientConfig & { deployment: string; apiVersion: string }): UpstreamClient {
  const withVersion = (u: URL) => {
    u.searchParams.set('api-version', cfg.apiVersion);
    return u;
  };
  const chatUrl = withVersion(
    under(cfg.baseUrl, `openai/deployments/${encodeURIComponent(cfg.deployment)}/chat/completions`),
  );
  return openAIShapedClient(cfg, {
    kind: 'azure-openai',
    chatUrl,
    pingUrl: withVersion(under(cfg.baseUrl, 'openai/models')),
    headers: cfg.apiKey ? { 'api-key': cfg.apiKey } : {},
    sendModel: false,
    async listModels() {
      return [{ id: cfg.deployment, owned_by: 'azure-openai' }];
    },
  });
}
