// Which OpenAI-compatible endpoint answers instead of the local engine:
// settings serverUrl, serverApiKey and serverModel, checked once.

export interface RemoteSettings {
  /** Ends in the API root, e.g. http://gpu-box:8000/v1 (no trailing slash). */
  url: string;
  apiKey: string | undefined;
  /** Undefined: the first model the endpoint lists. */
  model: string | undefined;
}

export interface RemoteSettingsInput {
  serverUrl?: string;
  serverApiKey?: string;
  serverModel?: string;
}

export class RemoteSettingsError extends Error {
  // Named like the other settings errors, so clients report it as bad params.
  override name = 'SettingsError';
}

function optionalText(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new RemoteSettingsError(`setting ${name} must be text, not ${JSON.stringify(value)}`);
  return value.trim();
}

/** The endpoint's API root. A bare http://host:port gets /v1, as every OpenAI-compatible server serves it there. */
export function normalizeServerUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RemoteSettingsError(`setting serverUrl must be a URL such as http://127.0.0.1:8000/v1, not ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RemoteSettingsError(`setting serverUrl must start with http:// or https://, not ${JSON.stringify(text)}`);
  }
  if (url.username || url.password) throw new RemoteSettingsError('setting serverUrl must not carry a user name or password: put the key in serverApiKey');
  const root = url.pathname.replace(/\/+$/, '');
  url.pathname = root === '' ? '/v1' : root;
  url.search = '';
  url.hash = '';
  return url.toString().replace(/\/+$/, '');
}

/** Undefined when no endpoint is set; a value given as '' clears what `base` had. */
export function resolveRemoteSettings(given: RemoteSettingsInput, base: RemoteSettings | undefined): RemoteSettings | undefined {
  const url = optionalText(given.serverUrl, 'serverUrl');
  const apiKey = optionalText(given.serverApiKey, 'serverApiKey');
  const model = optionalText(given.serverModel, 'serverModel');
  const chosenUrl = url === undefined ? base?.url : url === '' ? undefined : normalizeServerUrl(url);
  if (chosenUrl === undefined) return undefined;
  return {
    url: chosenUrl,
    apiKey: apiKey === undefined ? base?.apiKey : apiKey || undefined,
    model: model === undefined ? base?.model : model || undefined,
  };
}
