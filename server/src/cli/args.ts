// Command-line arguments of `snapkv-code`, parsed by hand: a handful of
// options does not justify a dependency.
import type { ServerSettings } from '../protocol';
import { KV_TYPES } from '../engine';
import { DEFAULT_SNAPKV } from '../session/settings';

export interface CliArgs {
  command: 'ask' | 'index' | 'models' | 'mcp' | 'serve' | 'help';
  folder?: string;
  question?: string;
  settings: ServerSettings;
  maxTokens?: number;
  temperature?: number;
  /** index: also prefill and save the cache, so a later ask starts at once. */
  prefill: boolean;
  force: boolean;
  json: boolean;
  verbose: boolean;
  /** serve: where to listen, the key clients must send, and the limits. */
  serve: ServeArgs;
}

export interface ServeArgs {
  host: string;
  port: number;
  apiKey?: string;
  maxConcurrent?: number;
  maxRequestBytes?: number;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage:
  snapkv-code ask <folder> "<question>" [options]   answer a question about a folder, then list the kept files and lines
  snapkv-code index <folder> [options]              show what is packed and left out, and the token count
  snapkv-code models                                list the GGUF models found where Ollama and LM Studio keep them
  snapkv-code mcp <folder> [options]                an MCP server on stdio with the tools ask_repository and repository_context
  snapkv-code serve <folder> [options]              an OpenAI-compatible HTTP server: the folder is the prompt, each request a question

Options:
  --model <file.gguf>     the model (default: the first one found locally, or the bundled demo model)
  --backend auto|cuda|cpu
  --gpu-memory <GiB>      GPU memory the engine may use (default: what is free, less 5%)
  --host-memory <GiB>     host memory for the repository's cache (default: what is available);
                          a repository too large for it is answered one-shot
  --prefix-in-host-memory keep the folder's prompt cache in host memory, streamed to the GPU a layer at a time
  --exact                 exact f32 matrix products on the CPU instead of the fast int8 ones
  --rope-scaling file|none|linear|yarn
                          RoPE scaling (default: as the model file says); yarn stretches the file's context
  --rope-scale <n>        the factor for --rope-scaling yarn|linear (default 4: a 32K Qwen2.5 serves 128K)
  --kv-type f16|bf16|q8_0|f32
                          how the CPU backend stores the KV cache (default f16; f32 is exact and twice the memory)
  --threads <n>           CPU threads for the engine (default: every core)
  --budget <n>            SnapKV entries kept per layer and KV head (default ${DEFAULT_SNAPKV.budget})
  --window <n>            SnapKV observation window (default ${DEFAULT_SNAPKV.window})
  --kernel <n>            SnapKV pooling kernel, odd (default ${DEFAULT_SNAPKV.kernel})
  --pooling max|avg       (default ${DEFAULT_SNAPKV.pooling})
  --max-tokens <n>        longest answer (default 512)
  --temperature <t>       0 (default) is greedy
  --max-context <n>       largest packed repository in tokens
  --include <glob>        pack files a default rule leaves out (repeatable)
  --exclude <glob>        leave more files out (repeatable)
  --include-secret <glob> pack a file although it holds a secret (repeatable; nothing else admits one)
  --cache-dir <dir>       where prefix caches are saved
  --prefill               index: also prefill the folder and save its cache
  --force                 ignore the saved cache and prefill again
  --json                  print the result as JSON
  --verbose               log what the engine does to stderr

Remote endpoint (ask, index, mcp: answer through an OpenAI-compatible server instead of the local engine; no SnapKV there):
  --server-url <url>      e.g. http://gpu-box:8000/v1 (vLLM, SGLang, llama-server, Ollama, or snapkv-code serve)
  --server-api-key <key>  sent as a Bearer token (or set SNAPKV_SERVER_API_KEY)
  --server-model <name>   the model the endpoint serves (default: the first it lists)

serve:
  --host <address>        default 127.0.0.1 (this machine only); 0.0.0.0 listens on every interface
  --port <n>              default 8080; 0 picks a free port
  --api-key <key>         clients must send Authorization: Bearer <key> (or set SNAPKV_API_KEY)
  --max-concurrent <n>    questions answered at once; more get 429 (default 4)
  --max-request-bytes <n> larger request bodies get 413 (default 1048576)
`;

function integer(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} needs a positive whole number, not "${value}"`);
  return n;
}

export function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = { command: 'help', settings: {}, prefill: false, force: false, json: false, verbose: false, serve: { host: '127.0.0.1', port: 8080 } };
  const positional: string[] = [];
  const snapkv: NonNullable<ServerSettings['snapkv']> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--model': args.settings.modelPath = value(); break;
      case '--backend': {
        const backend = value();
        if (backend !== 'auto' && backend !== 'cuda' && backend !== 'cpu') throw new UsageError(`--backend must be auto, cuda or cpu, not "${backend}"`);
        args.settings.backend = backend;
        break;
      }
      case '--gpu-memory': {
        const text = value();
        const gib = Number(text);
        if (!Number.isFinite(gib) || gib <= 0) throw new UsageError(`--gpu-memory needs a positive number of GiB, not "${text}"`);
        args.settings.gpuMemoryGiB = gib;
        break;
      }
      case '--host-memory': {
        const text = value();
        const gib = Number(text);
        if (!Number.isFinite(gib) || gib <= 0) throw new UsageError(`--host-memory needs a positive number of GiB, not "${text}"`);
        args.settings.hostMemoryGiB = gib;
        break;
      }
      case '--prefix-in-host-memory': args.settings.prefixInHostMemory = true; break;
      case '--exact': args.settings.exact = true; break;
      case '--rope-scaling': {
        const kind = value();
        if (kind !== 'file' && kind !== 'none' && kind !== 'linear' && kind !== 'yarn') {
          throw new UsageError(`--rope-scaling must be file, none, linear or yarn, not "${kind}"`);
        }
        args.settings.ropeScaling = kind;
        break;
      }
      case '--rope-scale': {
        const text = value();
        const scale = Number(text);
        if (!(scale >= 1 && scale <= 1024)) throw new UsageError(`--rope-scale needs a number from 1 to 1024, not "${text}"`);
        args.settings.ropeScale = scale;
        break;
      }
      case '--kv-type': {
        const kind = value();
        const known = KV_TYPES.find((type) => type === kind);
        if (known === undefined) {
          throw new UsageError(`--kv-type must be ${KV_TYPES.slice(0, -1).join(', ')} or ${KV_TYPES[KV_TYPES.length - 1]}, not "${kind}"`);
        }
        args.settings.kvType = known;
        break;
      }
      case '--threads': args.settings.threads = integer(flag, value()); break;
      case '--budget': snapkv.budget = integer(flag, value()); break;
      case '--window': snapkv.window = integer(flag, value()); break;
      case '--kernel': snapkv.kernel = integer(flag, value()); break;
      case '--pooling': {
        const pooling = value();
        if (pooling !== 'max' && pooling !== 'avg') throw new UsageError(`--pooling must be max or avg, not "${pooling}"`);
        snapkv.pooling = pooling;
        break;
      }
      case '--max-tokens': args.maxTokens = integer(flag, value()); args.settings.maxAnswerTokens = args.maxTokens; break;
      case '--temperature': {
        const t = Number(value());
        if (!Number.isFinite(t) || t < 0) throw new UsageError('--temperature needs a number of at least 0');
        args.temperature = t;
        break;
      }
      case '--max-context': args.settings.maxContextTokens = integer(flag, value()); break;
      case '--include': (args.settings.include ??= []).push(value()); break;
      case '--exclude': (args.settings.exclude ??= []).push(value()); break;
      case '--include-secret': (args.settings.includeSecrets ??= []).push(value()); break;
      case '--cache-dir': args.settings.cacheDir = value(); break;
      case '--prefill': args.prefill = true; break;
      case '--force': args.force = true; break;
      case '--json': args.json = true; break;
      case '--verbose': args.verbose = true; break;
      case '--server-url': args.settings.serverUrl = value(); break;
      case '--server-api-key': args.settings.serverApiKey = value(); break;
      case '--server-model': args.settings.serverModel = value(); break;
      case '--host': args.serve.host = value(); break;
      case '--port': {
        const text = value();
        const port = Number(text);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port needs a port number from 0 to 65535, not "${text}"`);
        args.serve.port = port;
        break;
      }
      case '--api-key': args.serve.apiKey = value(); break;
      case '--max-concurrent': args.serve.maxConcurrent = integer(flag, value()); break;
      case '--max-request-bytes': args.serve.maxRequestBytes = integer(flag, value()); break;
      case '--help': args.command = 'help'; return args;
      default: throw new UsageError(`unknown option ${flag}`);
    }
  }
  if (Object.keys(snapkv).length > 0) args.settings.snapkv = snapkv;
  const [command, ...rest] = positional;
  if (command === undefined || command === 'help') return args;
  if (command === 'models') {
    args.command = 'models';
  } else if (command === 'index') {
    if (rest.length !== 1) throw new UsageError('index needs one folder: snapkv-code index <folder>');
    args.command = 'index';
    args.folder = rest[0];
  } else if (command === 'mcp' || command === 'serve') {
    if (rest.length !== 1) throw new UsageError(`${command} needs one folder: snapkv-code ${command} <folder>`);
    args.command = command;
    args.folder = rest[0];
  } else if (command === 'ask') {
    if (rest.length < 2) throw new UsageError('ask needs a folder and a question: snapkv-code ask <folder> "<question>"');
    args.command = 'ask';
    args.folder = rest[0];
    args.question = rest.slice(1).join(' ');
  } else {
    throw new UsageError(`unknown command "${command}"`);
  }
  return args;
}
