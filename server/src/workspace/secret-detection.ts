// Files that hold credentials: by name (the credential files of common tools)
// and by content (private-key blocks, the token shapes of common providers).
// Leaving one out costs a little context; packing one puts a secret into a
// prompt, a saved cache file and possibly an answer. A reason never quotes the
// secret itself: it names the kind and the line.
import { baseName } from './path-names';

/** `.env.example` and friends are committed templates without values. */
const ENV_TEMPLATES = new Set(['example', 'sample', 'template', 'dist', 'defaults']);

const SECRET_NAMES = new Map<string, string>([
  ['.envrc', 'direnv environment file'],
  ['.npmrc', 'npm credentials file'],
  ['.yarnrc.yml', 'yarn credentials file'],
  ['.pypirc', 'PyPI credentials file'],
  ['.netrc', 'netrc credentials file'],
  ['_netrc', 'netrc credentials file'],
  ['.git-credentials', 'git credentials file'],
  ['.github_token', 'GitHub token file'],
  ['.vault-token', 'Vault token file'],
  ['.pgpass', 'PostgreSQL password file'],
  ['.my.cnf', 'MySQL credentials file'],
  ['.htpasswd', 'password file'],
  ['.boto', 'cloud credentials file'],
  ['.s3cfg', 'S3 credentials file'],
  ['.dockercfg', 'Docker credentials file'],
  ['.terraformrc', 'Terraform credentials file'],
  ['terraform.rc', 'Terraform credentials file'],
  ['kubeconfig', 'Kubernetes credentials file'],
  ['application_default_credentials.json', 'Google Cloud credentials file'],
  ['shadow', 'password hash file'],
  ['shadow-', 'password hash file'],
  ['gshadow', 'password hash file'],
  ['gshadow-', 'password hash file'],
  ['master.passwd', 'password hash file'],
  ['secrets.yaml', 'secrets file'],
  ['secrets.yml', 'secrets file'],
  ['secrets.json', 'secrets file'],
  ['secrets.toml', 'secrets file'],
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
  ['tfstate', 'Terraform state (holds resource secrets)'],
  ['tfvars', 'Terraform variables file'],
  ['kubeconfig', 'Kubernetes credentials file'],
]);

/** Files inside these folders are credentials whatever their name (`.ssh/config` names hosts, users and keys). */
const SECRET_FOLDERS = new Map<string, string>([
  ['.ssh', 'SSH configuration or key file'],
  ['.gnupg', 'GnuPG key file'],
  ['.password-store', 'password store file'],
]);

/** Files at a path inside a tool's folder: "<folder>/<name>" at any depth. */
const SECRET_PATHS = new Map<string, string>([
  ['.aws/credentials', 'AWS credentials file'],
  ['.aws/config', 'AWS configuration file'],
  ['.docker/config.json', 'Docker credentials file'],
  ['.kube/config', 'Kubernetes credentials file'],
  ['.gem/credentials', 'RubyGems credentials file'],
  ['.cargo/credentials', 'Cargo credentials file'],
  ['.cargo/credentials.toml', 'Cargo credentials file'],
  ['.composer/auth.json', 'Composer credentials file'],
  ['gh/hosts.yml', 'GitHub CLI credentials file'],
  ['.config/hub', 'GitHub credentials file'],
]);

export function secretByName(relPath: string): string | undefined {
  const lowerPath = relPath.toLowerCase();
  const name = baseName(lowerPath);
  if (name === '.env') return 'environment file';
  if (name.startsWith('.env.') && !ENV_TEMPLATES.has(name.slice('.env.'.length))) return 'environment file';
  const named = SECRET_NAMES.get(name);
  if (named) return named;
  if (/^id_(rsa|dsa|ecdsa|ed25519)/.test(name)) return 'SSH key file';
  if (/^credentials.*\.json$/.test(name) || /^service[-_]?account.*\.json$/.test(name)) return 'credentials file';
  if (name.endsWith('.tfstate.backup')) return 'Terraform state (holds resource secrets)';
  for (const [tail, kind] of SECRET_PATHS) if (lowerPath === tail || lowerPath.endsWith(`/${tail}`)) return kind;
  const folders = lowerPath.split('/').slice(0, -1);
  for (const folder of folders) {
    const kind = SECRET_FOLDERS.get(folder);
    if (kind) return kind;
  }
  const dot = name.lastIndexOf('.');
  if (dot > 0) {
    const kind = SECRET_EXTENSIONS.get(name.slice(dot + 1));
    if (kind) return kind;
  }
  return undefined;
}

interface SecretShape {
  kind: string;
  pattern: RegExp;
  /** A match that is a documented placeholder rather than a secret. */
  placeholder?: (match: string) => boolean;
}

/**
 * Shapes specific enough that a match is a credential, not code that mentions
 * one: fixed provider prefixes with their exact lengths and alphabets. No
 * generic "password = ..." rules: they would leave out half of every codebase.
 */
const SECRET_SHAPES: readonly SecretShape[] = [
  // A file that opens with a key header is a key file, even with its body cut short.
  { kind: 'a private key', pattern: /^\s*-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/ },
  {
    kind: 'a private key',
    // The header, then (after line breaks, escaped "\n", quotes or PEM headers) the start of a base64 body.
    pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:\\r|\\n|[\s"'`+,]|(?:Proc-Type|DEK-Info|Version|Comment):[^\n]*)*[A-Za-z0-9+/=]{4,}/,
  },
  { kind: 'a service account with a private key', pattern: /"private_key"\s*:\s*"-----BEGIN/ },
  {
    kind: 'an AWS access key',
    pattern: /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|APKA)[A-Z2-7]{16}\b/,
    placeholder: (m) => m.endsWith('EXAMPLE'),
  },
  { kind: 'an AWS secret access key', pattern: /aws_secret_access_key["']?\s*[=:]\s*["']?[A-Za-z0-9/+]{40}\b/i, placeholder: (m) => /EXAMPLEKEY/.test(m) },
  { kind: 'a GitHub token', pattern: /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/ },
  { kind: 'a GitHub token', pattern: /\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b/ },
  { kind: 'a GitLab token', pattern: /\bglpat-[A-Za-z0-9_-]{20}\b/ },
  { kind: 'a Slack token', pattern: /\bxox[abposre]-(?:[0-9]+-)+[A-Za-z0-9-]{10,}/ },
  { kind: 'a Slack webhook', pattern: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]{6,}\/B[A-Z0-9]{6,}\/[A-Za-z0-9]{20,}/ },
  { kind: 'a Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/ },
  { kind: 'a Stripe secret key', pattern: /\b[sr]k_live_[0-9a-zA-Z]{24,}\b/ },
  { kind: 'an OpenAI API key', pattern: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}T3BlbkFJ[A-Za-z0-9_-]{16,}/ },
  { kind: 'an OpenAI API key', pattern: /\bsk-[A-Za-z0-9]{48}\b/ },
  { kind: 'an Anthropic API key', pattern: /\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,}/ },
  { kind: 'an npm token', pattern: /\bnpm_[A-Za-z0-9]{36}\b/ },
  { kind: 'an npm token', pattern: /_authToken\s*=\s*(?!\$\{)[^\s]{8,}/ },
  { kind: 'a Hugging Face token', pattern: /\bhf_[A-Za-z]{34}\b/ },
  { kind: 'a PyPI token', pattern: /\bpypi-AgE[A-Za-z0-9_-]{50,}/ },
  // A JWT only where it is used as a credential: sample tokens in tests and docs stay.
  { kind: 'a bearer token', pattern: /\bBearer\s+eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}/ },
];

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** Why the text holds a secret ("line 12 holds a GitHub token"), or undefined. */
export function secretByContent(text: string): string | undefined {
  for (const shape of SECRET_SHAPES) {
    const global = new RegExp(shape.pattern.source, shape.pattern.flags.includes('g') ? shape.pattern.flags : `${shape.pattern.flags}g`);
    for (let match = global.exec(text); match !== null; match = global.exec(text)) {
      if (shape.placeholder?.(match[0])) continue;
      return `line ${lineOf(text, match.index)} holds ${shape.kind}`;
    }
  }
  return undefined;
}
