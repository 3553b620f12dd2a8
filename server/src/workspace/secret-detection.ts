// Files that hold credentials: by name, and private keys by their PEM header.
// Leaving one out costs a little context; packing one puts a secret into a
// prompt, a saved cache file and possibly an answer.
import { baseName } from './path-names';

/** `.env.example` and friends are committed templates without values. */
const ENV_TEMPLATES = new Set(['example', 'sample', 'template']);

const SECRET_NAMES = new Map<string, string>([
  ['.npmrc', 'npm credentials file'],
  ['.pypirc', 'PyPI credentials file'],
  ['.netrc', 'netrc credentials file'],
  ['_netrc', 'netrc credentials file'],
  ['.git-credentials', 'git credentials file'],
  ['.pgpass', 'PostgreSQL password file'],
  ['.htpasswd', 'password file'],
]);

const SECRET_EXTENSIONS = new Map<string, string>([
  ['pem', 'PEM key or certificate file'],
  ['key', 'key file'],
  ['p12', 'PKCS #12 key store'],
  ['pfx', 'PKCS #12 key store'],
  ['keystore', 'key store'],
  ['jks', 'Java key store'],
  ['ppk', 'PuTTY private key'],
  ['kdbx', 'KeePass database'],
]);

export function secretByName(relPath: string): string | undefined {
  const name = baseName(relPath);
  const lower = name.toLowerCase();
  if (lower === '.env') return 'environment file';
  if (lower.startsWith('.env.') && !ENV_TEMPLATES.has(lower.slice('.env.'.length))) return 'environment file';
  const named = SECRET_NAMES.get(lower);
  if (named) return named;
  if (/^id_(rsa|dsa|ecdsa|ed25519)/.test(lower)) return 'SSH key file';
  if (/^credentials.*\.json$/.test(lower)) return 'credentials file';
  if (relPath === '.aws/credentials' || relPath.endsWith('/.aws/credentials')) return 'AWS credentials file';
  const dot = lower.lastIndexOf('.');
  if (dot > 0) {
    const kind = SECRET_EXTENSIONS.get(lower.slice(dot + 1));
    if (kind) return kind;
  }
  return undefined;
}

const PRIVATE_KEY_HEADER = /^\s*-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/;

export function secretByContent(text: string): string | undefined {
  return PRIVATE_KEY_HEADER.test(text) ? 'starts with a private key' : undefined;
}
