// What the command loads before it can start on the model: a command that does not serve MCP or
// HTTP must not load their modules (the MCP SDK alone took longer to load than the rest of the CLI).
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { writeServerFixture } from './helpers/server-fixtures';
import { useTempDir } from './helpers/temp-dir';

const BIN = path.join(__dirname, '..', '..', 'bin', 'snapkv-code.js');

/** Runs the command with a preload that prints, at exit, every module file it loaded. */
function loadedModules(preload: string, args: string[]): Promise<{ code: number | null; modules: string[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', preload, BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = stderr.split('\n').find((l) => l.startsWith('LOADED '));
      resolve({ code, modules: line ? (JSON.parse(line.slice('LOADED '.length)) as string[]) : [], stderr });
    });
  });
}

describe('snapkv-code start', function () {
  this.timeout(180_000);
  const tempDir = useTempDir('cli-startup');

  it('index loads the model and tokenizes without loading the MCP SDK, zod or the HTTP server', async () => {
    const { model: modelPath, repo } = writeServerFixture(tempDir());
    const preload = path.join(tempDir(), 'print-modules.js');
    fs.writeFileSync(preload, "process.on('exit', () => process.stderr.write('LOADED ' + JSON.stringify(Object.keys(require.cache)) + '\\n'));\n");
    const run = await loadedModules(preload, ['index', repo, '--model', modelPath, '--backend', 'cpu', '--cache-dir', path.join(tempDir(), 'cache')]);
    assert.strictEqual(run.code, 0, run.stderr);
    const has = (part: string): boolean => run.modules.some((file) => file.split(path.sep).join('/').includes(part));
    assert.ok(has('/server/src/session/session.js') && has('/@huggingface/tokenizers/'), 'the preload saw what the command did load');
    for (const unwanted of ['/@modelcontextprotocol/', '/node_modules/zod/', '/cli/mcp-command.js', '/cli/serve-command.js', '/http/openai-server.js']) {
      assert.ok(!has(unwanted), `${unwanted} was loaded`);
    }
  });
});
