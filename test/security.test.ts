// Issue 16, finding by finding: nothing private leaves, nothing a file says
// takes control, no bad request poisons the server. The server runs over a
// real LSP connection with the tiny fixture model; the files are real files in
// temporary folders; the secrets are fake but well formed (helpers/fake-secrets).
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ErrorCodes, ResponseError } from 'vscode-jsonrpc/node';
import type { AskResult, IndexResult, StatusResult } from '../server/src/protocol';
import { Methods } from '../server/src/protocol';
import { FakeSecrets } from './helpers/fake-secrets';
import { TestLspClient } from './helpers/lsp-client';
import { writeFixtureRepo, writeServerFixture } from './helpers/server-fixtures';
import { useTempDir } from './helpers/temp-dir';
import { writeFiles } from './helpers/workspace-fixture-repo';
import { SeededRandom } from './fixtures/seeded-random';

async function failsWith(promise: Promise<unknown>, pattern: RegExp, code?: number): Promise<ResponseError<unknown>> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ResponseError, `expected a ResponseError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, /Cannot read properties|is not a function|TypeError/);
    if (code !== undefined) assert.strictEqual(error.code, code, `error code of "${error.message}"`);
    return error;
  }
  assert.fail(`expected an error matching ${pattern}`);
}

/** Every file below `dir`, relative, with its mode. */
function modesBelow(dir: string): Array<{ rel: string; mode: number; isDir: boolean }> {
  const out: Array<{ rel: string; mode: number; isDir: boolean }> = [];
  const walk = (current: string): void => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      const stats = fs.lstatSync(full);
      out.push({ rel: path.relative(dir, full), mode: stats.mode & 0o777, isDir: stats.isDirectory() });
      if (entry.isDirectory()) walk(full);
    }
  };
  walk(dir);
  return out;
}

describe('security (issue 16)', function () {
  this.timeout(240_000);
  const tempDir = useTempDir('security');
  let modelPath: string;
  let repo: string;

  before(() => {
    ({ model: modelPath, repo } = writeServerFixture(tempDir()));
  });

  describe('finding 1: secrets are neither packed nor saved', () => {
    const secrets = new FakeSecrets(16);
    let secretRepo: string;
    /** File -> a piece of the secret in it that must never appear in a reason. */
    const planted = new Map<string, string>();

    before(() => {
      secretRepo = path.join(tempDir(), 'secret-repo');
      writeFixtureRepo(secretRepo);
      const aws = secrets.awsAccessKey();
      const github = secrets.githubToken();
      const byContent: Record<string, string> = {
        'deploy/notes.txt': `# the deploy key, keep it safe\n${secrets.privateKey('OPENSSH')}`,
        'src/keys.ts': `// signing key\nexport const KEY = "${secrets.privateKey('RSA').replace(/\n/g, '\\n')}";\n`,
        'config/gcp.json': JSON.stringify({ type: 'service_account', project_id: 'p', private_key: secrets.privateKey(''), client_email: 'a@b.c' }, null, 2),
        'scripts/upload.sh': `#!/bin/sh\nexport AWS_ACCESS_KEY_ID=${aws}\naws s3 cp x s3://bucket/\n`,
        'src/github.py': `TOKEN = "${github}"\n`,
        'src/fine.go': `const token = "${secrets.githubFineGrained()}"\n`,
        'ops/slack.yml': `token: ${secrets.slackToken()}\n`,
        'web/maps.js': `const key = '${secrets.googleApiKey()}';\n`,
        'billing/stripe.rb': `Stripe.api_key = "${secrets.stripeKey()}"\n`,
        'ai/client.ts': `const apiKey = "${secrets.openAiKey()}";\n`,
        'api/call.http': `GET /me\nAuthorization: Bearer ${secrets.jwt()}\n`,
        'ci/registry.cfg': `//registry.npmjs.org/:_authToken=${secrets.chars('abcdef0123456789', 36)}\n`,
      };
      const byName: Record<string, string> = {
        '.envrc': 'export DATABASE_URL=postgres://u:p@h/db\n',
        '.aws/config': '[default]\nregion = eu-west-1\n',
        '.aws/credentials': `[default]\naws_access_key_id = x\n`,
        '.docker/config.json': '{"auths":{"registry":{"auth":"dXNlcjpwYXNz"}}}\n',
        '.kube/config': 'apiVersion: v1\nkind: Config\n',
        '.ssh/config': 'Host prod\n  User deploy\n',
        'service-account.json': '{"type": "service_account"}\n',
        'infra/terraform.tfstate': '{"version": 4}\n',
        'infra/terraform.tfstate.backup': '{"version": 4}\n',
        'deploy/secrets.yaml': 'password: hunter2\n',
        '.github_token': 'x\n',
        '.git-credentials': 'https://u:x@example.com\n',
        '.pypirc': '[pypi]\n',
        '.npmrc': 'registry=https://registry.npmjs.org/\n',
        '.netrc': 'machine example.com login u password p\n',
        'keys/id_rsa': 'x\n',
      };
      // Code that talks about secrets without holding one: it stays.
      const innocent: Record<string, string> = {
        'docs/keys.md': 'A key starts with a header line:\n-----BEGIN RSA PRIVATE KEY-----\n(the body follows)\n',
        'docs/aws.md': `The documentation's example key is ${['AK', 'IA'].join('')}IOSFODNN7EXAMPLE.\n`,
        'src/env.ts': 'export const token = process.env.GITHUB_TOKEN ?? "";\nexport const sk = "sk-test";\n',
        'test/jwt.test.ts': `const sample = "${secrets.jwt()}"; // decoded in the test, no Bearer\n`,
        '.env.example': 'API_KEY=\n',
      };
      writeFiles(secretRepo, { ...byContent, ...byName, ...innocent });
      for (const [file, text] of Object.entries(byContent)) planted.set(file, text.replace(/\s+/g, ' ').slice(-24));
      for (const file of Object.keys(byName)) planted.set(file, '');
      // A link to a file outside the folder, and one to a folder outside it.
      const outside = path.join(tempDir(), 'outside');
      writeFiles(outside, { 'shadow': 'root:$6$salt$hash:19000:0:99999:7:::\n', 'dir/a.txt': 'outside\n' });
      fs.symlinkSync(path.join(outside, 'shadow'), path.join(secretRepo, 'linked-shadow'));
      fs.symlinkSync(path.join(outside, 'dir'), path.join(secretRepo, 'linked-dir'));
    });

    it('leaves out every credential file and every file holding a key or token, says why without quoting it, and includeSecrets admits one on purpose', async () => {
      const cacheDir = path.join(tempDir(), 'cache-secrets');
      const client = new TestLspClient();
      try {
        await client.initialize({ modelPath, cacheDir, backend: 'cpu', maxAnswerTokens: 4 }, secretRepo);
        const index = await client.connection.sendRequest<IndexResult>(Methods.index, {});
        const reasons = new Map(index.leftOut.map((l) => [l.path, l]));
        for (const [file, piece] of planted) {
          const entry = reasons.get(file);
          assert.ok(entry, `${file} was packed`);
          assert.strictEqual(entry.reason, 'secret', `${file}: ${entry.reason} (${entry.detail})`);
          assert.match(entry.detail ?? '', /includeSecrets/);
          if (piece) assert.ok(!(entry.detail ?? '').includes(piece.trim()), `the reason for ${file} quotes the secret`);
        }
        assert.match(reasons.get('src/github.py')?.detail ?? '', /line 1 holds a GitHub token/);
        assert.match(reasons.get('deploy/notes.txt')?.detail ?? '', /line 2 holds a private key/);
        for (const link of ['linked-shadow', 'linked-dir']) {
          assert.ok(reasons.has(link), `${link} is listed as left out`);
          assert.match(reasons.get(link)?.detail ?? '', /outside the folder/);
        }
        // 4 fixture files + 5 innocent ones.
        assert.strictEqual(index.files, 9, `packed ${index.files}: ${JSON.stringify(index.leftOut.map((l) => l.path))}`);

        // The saved cache holds the packed files' tokens only: the files above are not among them.
        const saved = fs.readdirSync(cacheDir, { recursive: true }).map(String).filter((f) => f.endsWith('.snapkvpc'));
        assert.strictEqual(saved.length, 1);

        await client.connection.sendRequest(Methods.configure, { includeSecrets: ['src/github.py'] });
        const again = await client.connection.sendRequest<IndexResult>(Methods.index, {});
        assert.strictEqual(again.files, 10, 'includeSecrets admits the file it names');
        assert.ok(!again.leftOut.some((l) => l.path === 'src/github.py'));
        assert.ok(again.leftOut.some((l) => l.path === 'ai/client.ts'), 'and only that file');
      } finally {
        await client.close();
      }
    });
  });

  describe('findings 1, 5 and 6: saved caches are private, checked and set aside when unusable', () => {
    let goodCacheDir: string;
    let client: TestLspClient;

    before(async () => {
      goodCacheDir = path.join(tempDir(), 'cache-good');
      client = new TestLspClient();
      await client.initialize({ modelPath, cacheDir: goodCacheDir, backend: 'cpu', maxAnswerTokens: 4 }, repo);
      const index = await client.connection.sendRequest<IndexResult>(Methods.index, {});
      assert.strictEqual(index.source, 'prefill');
    });

    after(async () => {
      await client.close();
    });

    it('writes the cache folder 0700 and its files 0600', () => {
      const entries = modesBelow(goodCacheDir);
      assert.ok(entries.some((e) => e.rel.endsWith('.snapkvpc')), 'a cache was saved');
      for (const entry of entries) assert.strictEqual(entry.mode, entry.isDir ? 0o700 : 0o600, `${entry.rel} has mode ${entry.mode.toString(8)}`);
      assert.strictEqual(fs.statSync(goodCacheDir).mode & 0o777, 0o700, 'the cache folder it created');
    });

    /** A copy of the good cache folder, with the cache file replaced by what `spoil` makes of it. */
    function spoiledCopy(name: string, spoil: (cacheFile: string) => void): string {
      const dir = path.join(tempDir(), `cache-${name}`);
      fs.cpSync(goodCacheDir, dir, { recursive: true });
      const cacheFile = fs.readdirSync(dir, { recursive: true }).map(String).find((f) => f.endsWith('.snapkvpc'));
      assert.ok(cacheFile);
      spoil(path.join(dir, cacheFile));
      return dir;
    }

    /**
     * Indexes with the cache folder `cacheDir`; the source of the first index made with it. The
     * server also re-indexes by itself after new settings, and either may come first: the log says.
     */
    async function indexWith(cacheDir: string): Promise<{ source: string }> {
      const logsBefore = client.logs.length;
      await client.connection.sendRequest(Methods.configure, { cacheDir });
      await client.connection.sendRequest<IndexResult>(Methods.index, {});
      const line = client.logs.slice(logsBefore).find((l) => /^indexed .* \((prefill|saved-cache|incremental|unchanged),/.test(l));
      assert.ok(line, `no index in the log: ${client.logs.slice(logsBefore).join(' | ')}`);
      return { source: /\((prefill|saved-cache|incremental|unchanged),/.exec(line)?.[1] ?? '' };
    }

    it('reloads an intact copy (the control for the cases below)', async () => {
      const index = await indexWith(spoiledCopy('intact', () => undefined));
      assert.strictEqual(index.source, 'saved-cache');
    });

    it('finds flipped bytes in the keys and values by the checksum, sets the file aside and prefills again', async () => {
      const random = new SeededRandom(6);
      let spoiledFile = '';
      const dir = spoiledCopy('flipped', (file) => {
        spoiledFile = file;
        const bytes = fs.readFileSync(file);
        // Past the first 4 KiB: the keys and values, which no token hash covers.
        for (let i = 0; i < 3; i++) {
          const at = random.integer(4096, bytes.length);
          bytes[at] ^= 1 << random.integer(0, 8);
        }
        fs.writeFileSync(file, bytes);
      });
      const logsBefore = client.logs.length;
      const index = await indexWith(dir);
      assert.strictEqual(index.source, 'prefill');
      const logs = client.logs.slice(logsBefore).join('\n');
      assert.match(logs, /checksum/);
      const aside = fs.readdirSync(path.dirname(spoiledFile)).filter((f) => /\.snapkvpc\.bad-/.test(f));
      assert.strictEqual(aside.length, 1, 'the corrupt file is set aside');
      const answer = await client.connection.sendRequest<AskResult>(Methods.ask, { requestId: 'after-flip', question: 'What is MAX_ITEMS?' });
      assert.ok(answer.tokens > 0);
    });

    const unusable: Array<[string, (file: string) => void]> = [
      ['a directory', (file) => { fs.rmSync(file); fs.mkdirSync(file); }],
      ['a link to /dev/zero', (file) => { fs.rmSync(file); fs.symlinkSync('/dev/zero', file); }],
      ['truncated', (file) => fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2))],
      ['empty', (file) => fs.truncateSync(file, 0)],
    ];
    for (const [what, spoil] of unusable) {
      it(`prefills again when the saved cache is ${what}, and answers`, async () => {
        const index = await indexWith(spoiledCopy(what.replace(/\W+/g, '-'), spoil));
        assert.strictEqual(index.source, 'prefill');
        const answer = await client.connection.sendRequest<AskResult>(Methods.ask, { requestId: `after-${what}`, question: 'What is MAX_ITEMS?' });
        assert.ok(answer.tokens > 0);
      });
    }

    it('prefills again when the saved cache cannot be read (where permissions apply)', async function () {
      if (process.getuid?.() === 0) {
        console.log('      (skipped: root reads every file; the directory and link cases cover an unreadable cache)');
        this.skip();
      }
      const index = await indexWith(spoiledCopy('unreadable', (file) => fs.chmodSync(file, 0)));
      assert.strictEqual(index.source, 'prefill');
    });
  });

  describe('findings 3, 8, 9 and 10: requests are checked at the door', () => {
    let client: TestLspClient;
    let indexed: IndexResult;

    before(async () => {
      client = new TestLspClient();
      await client.initialize({ modelPath, cacheDir: path.join(tempDir(), 'cache-door'), backend: 'cpu', maxAnswerTokens: 4 }, repo);
      indexed = await client.connection.sendRequest<IndexResult>(Methods.index, {});
    });

    after(async () => {
      await client.close();
    });

    it('finding 3: a mistyped maxTokens is refused by name and leaves the memory gate sound', async () => {
      // Whatever each bad request gets back, the gate must come out sound: checked before the messages, so that
      // this fails for a poisoned gate even where the requests are refused for another reason.
      const refusals = await Promise.allSettled([
        client.connection.sendRequest(Methods.ask, { requestId: 'x', question: 'Where?', maxTokens: 'x' }),
        client.connection.sendRequest(Methods.ask, { requestId: 'y', question: 'Where?', temperature: 'hot' }),
        client.connection.sendRequest(Methods.configure, { compactMemoryLimit: 'lots' }),
      ]);
      const status = await client.connection.sendRequest<StatusResult>(Methods.status);
      assert.strictEqual(status.compactBytes, 0, 'the memory gate counts what the bad requests reserved');
      assert.strictEqual(status.questionsRunning, 0);
      // Two questions fit the default limit together: both run at once, as before the bad request.
      const [a, b] = await Promise.all(['a', 'b'].map((id) => client.connection.sendRequest<AskResult>(Methods.ask, { requestId: id, question: 'What is MAX_ITEMS?' })));
      assert.ok(a.tokens > 0 && b.tokens > 0);
      const after = await client.connection.sendRequest<StatusResult>(Methods.status);
      assert.strictEqual(after.compactBytes, 0, 'every question gave its memory back');
      const patterns = [/ask\.maxTokens must be a whole number/, /ask\.temperature/, /settings\.compactMemoryLimit/];
      for (const [i, refusal] of refusals.entries()) {
        await failsWith(refusal.status === 'rejected' ? Promise.reject(refusal.reason) : Promise.resolve(refusal.value), patterns[i], ErrorCodes.InvalidParams);
      }
    });

    it('finding 8: an oversized question or selection is refused before it is tokenized', async () => {
      const huge = 'why '.repeat(250_000);
      await failsWith(client.connection.sendRequest(Methods.ask, { requestId: 'huge', question: huge }), /ask\.question is too long: 1000000 characters/, ErrorCodes.InvalidParams);
      const selection = { path: 'src/stock.ts', startLine: 1, endLine: 2, text: 'x'.repeat(300_000) };
      await failsWith(client.connection.sendRequest(Methods.ask, { requestId: 'sel', question: 'what?', selection }), /ask\.selection\.text is too long/, ErrorCodes.InvalidParams);
      const status = await client.connection.sendRequest<StatusResult>(Methods.status);
      assert.strictEqual(status.tokensIndexed, indexed.tokens);
    });

    it('finding 9: only a folder the client declared may be indexed or asked about', async () => {
      const elsewhere = path.join(tempDir(), 'elsewhere');
      writeFixtureRepo(elsewhere);
      for (const folder of [elsewhere, path.dirname(repo), '/etc']) {
        await failsWith(client.connection.sendRequest(Methods.index, { folder }), /is not a workspace folder/);
        await failsWith(client.connection.sendRequest(Methods.ask, { requestId: 'f', question: 'What?', folder }), /is not a workspace folder/);
      }
      const status = await client.connection.sendRequest<StatusResult>(Methods.status);
      assert.strictEqual(status.folder, repo, 'the workspace index was kept');
      assert.strictEqual(status.tokensIndexed, indexed.tokens);
    });

    it('finding 10: missing or mistyped parameters get errors that name them, never a TypeError', async () => {
      const cases: Array<[string, unknown, RegExp]> = [
        [Methods.ask, {}, /ask\.requestId is missing/],
        [Methods.ask, { requestId: 'm' }, /ask\.question is missing/],
        [Methods.ask, { requestId: 'm', question: 42 }, /ask\.question must be a string/],
        [Methods.ask, { requestId: 'm', question: 'q', selection: { path: 'a', startLine: 1, endLine: 1 } }, /ask\.selection\.text is missing/],
        [Methods.ask, { requestId: 'm', question: 'q', history: [{ question: 'q' }] }, /ask\.history\[0\]\.answer is missing/],
        [Methods.ask, null, /ask must be an object/],
        [Methods.cancel, {}, /cancel\.requestId is missing/],
        [Methods.cancel, null, /cancel must be an object/],
        [Methods.index, { folder: 7 }, /index\.folder must be a string/],
        [Methods.index, { force: 'yes' }, /index\.force must be true or false/],
        [Methods.contextMap, { requestId: [] }, /contextMap\.requestId must be a string/],
        [Methods.configure, { modelPath: 5 }, /settings\.modelPath must be a string/],
        [Methods.configure, { snapkv: { pooling: 'median' } }, /settings\.snapkv\.pooling must be 'max' or 'avg'/],
      ];
      for (const [method, params, pattern] of cases) await failsWith(client.connection.sendRequest(method, params), pattern, ErrorCodes.InvalidParams);
      const status = await client.connection.sendRequest<StatusResult>(Methods.status);
      assert.ok(status.model);
    });
  });

  describe('finding 4: a server that cannot initialize exits with its reason', () => {
    const badSettings: Array<[string, object, RegExp]> = [
      ['an even kernel', { snapkv: { kernel: 4 } }, /snapkv\.kernel must be odd/],
      ['a budget below the window', { snapkv: { window: 64, budget: 16 } }, /snapkv\.budget \(16\) must be at least snapkv\.window \(64\)/],
      ['a mistyped option', { maxAnswerTokens: 'many' }, /initializationOptions\.maxAnswerTokens must be a whole number/],
    ];
    for (const [what, settings, pattern] of badSettings) {
      it(`refuses ${what} and exits with a non-zero code`, async () => {
        const client = new TestLspClient();
        try {
          await failsWith(client.initialize({ modelPath, backend: 'cpu', ...settings }, repo), pattern);
          const code = await Promise.race([client.exitCode, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 20_000))]);
          assert.notStrictEqual(code, 'still running', 'the server stays up after failing to initialize');
          assert.ok(typeof code === 'number' && code !== 0, `exit code ${String(code)}`);
          assert.match(client.serverStderr, pattern);
        } finally {
          await client.close();
        }
      });
    }
  });

  describe('finding 7: the command line shows control characters instead of obeying them', () => {
    it('escapes file names with escape sequences, newlines and right-to-left overrides in the index listing', function () {
      if (process.platform === 'win32') this.skip();
      const folder = path.join(tempDir(), 'nasty-names');
      const names = ['title\u001b]0;pwned\u0007.ts', 'clear\u001b[2J.ts', 'evil\u202egpj.exe.ts', 'two\nlines.ts', 'c1\u009b31m.ts'];
      writeFiles(folder, Object.fromEntries(names.map((n) => [n, 'export const x = 1;\n'])));
      const cli = path.join(__dirname, '..', 'server', 'src', 'cli', 'main.js');
      const run = spawnSync(process.execPath, [cli, 'index', folder, '--model', modelPath, '--backend', 'cpu'], { encoding: 'utf8', timeout: 120_000 });
      assert.strictEqual(run.status, 0, run.stderr);
      for (const char of ['\u001b', '\u0007', '\u202e', '\u009b']) assert.ok(!run.stdout.includes(char), `raw U+${char.charCodeAt(0).toString(16)} on the terminal`);
      assert.ok(run.stdout.includes('title\\x1b]0;pwned\\x07.ts'), run.stdout);
      assert.ok(run.stdout.includes('evil\\u202egpj.exe.ts'));
      assert.ok(run.stdout.includes('two\\nlines.ts'));
      assert.ok(run.stdout.includes('c1\\x9b31m.ts'));
      const json = spawnSync(process.execPath, [cli, 'index', folder, '--model', modelPath, '--backend', 'cpu', '--json'], { encoding: 'utf8', timeout: 120_000 });
      assert.strictEqual(json.status, 0, json.stderr);
      for (const char of ['\u001b', '\u202e', '\u009b']) assert.ok(!json.stdout.includes(char));
      const parsed = JSON.parse(json.stdout) as { files: Array<{ path: string }> };
      assert.deepStrictEqual(parsed.files.map((f) => f.path).sort(), [...names].sort(), 'the JSON still holds the true names');
    });
  });
});
