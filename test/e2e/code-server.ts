// A code-server (VS Code for the web) of our own for one test scenario: fresh user data and extensions folders,
// our .vsix installed, settings written, listening on 127.0.0.1 only.
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const E2E_DIR = path.join(REPO_ROOT, '.e2e');
const ENTRY = path.join(E2E_DIR, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');

export interface CodeServerOptions {
  /** Names the scenario's folder under .e2e/run. */
  name: string;
  vsix: string;
  settings: Record<string, unknown>;
  /**
   * Settings of the machine the extension host runs on (Machine/settings.json: the "Remote" tab). VS Code applies
   * machine-scoped settings, such as snapkvCode.modelPath, only from there in a remote window like code-server's.
   */
  machineSettings: Record<string, unknown>;
}

export class CodeServer {
  private constructor(
    private readonly process: ChildProcess,
    readonly port: number,
    readonly userDataDir: string,
    readonly extensionsDir: string,
    private readonly output: string[],
  ) {}

  static async start(options: CodeServerOptions): Promise<CodeServer> {
    if (!fs.existsSync(ENTRY)) throw new Error(`code-server is not installed: run npm run setup:e2e (looked for ${ENTRY}).`);
    const runDir = path.join(E2E_DIR, 'run', options.name);
    fs.rmSync(runDir, { recursive: true, force: true });
    const userDataDir = path.join(runDir, 'user-data');
    const extensionsDir = path.join(runDir, 'extensions');
    fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
    fs.mkdirSync(extensionsDir, { recursive: true });
    fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(options.settings, null, 2));
    fs.mkdirSync(path.join(userDataDir, 'Machine'), { recursive: true });
    fs.writeFileSync(path.join(userDataDir, 'Machine', 'settings.json'), JSON.stringify(options.machineSettings, null, 2));
    const config = path.join(runDir, 'config.yaml');
    fs.writeFileSync(config, 'auth: none\ncert: false\n');
    const common = ['--config', config, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];

    const install = spawnSync(process.execPath, [ENTRY, ...common, '--install-extension', options.vsix], { encoding: 'utf8', timeout: 120_000 });
    if (install.status !== 0 || !/successfully installed/i.test(install.stdout + install.stderr)) {
      throw new Error(`Installing ${options.vsix} failed:\n${install.stdout}\n${install.stderr}`);
    }

    const port = await freePort();
    const args = [ENTRY, ...common, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-getting-started-override'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    const output: string[] = [];
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const server = new CodeServer(child, port, userDataDir, extensionsDir, output);
    await server.waitUntilListening(60_000);
    return server;
  }

  url(folder: string): string {
    return `http://127.0.0.1:${this.port}/?folder=${encodeURIComponent(folder)}`;
  }

  /** Everything code-server printed so far. */
  get log(): string {
    return this.output.join('');
  }

  /** The log files VS Code wrote under the user data folder (the extension host's and our output channel's). */
  logFiles(): string[] {
    const files: string[] = [];
    const walk = (dir: string): void => {
      if (!fs.existsSync(dir)) return;
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith('.log')) files.push(full);
      }
    };
    walk(path.join(this.userDataDir, 'logs'));
    return files;
  }

  /** Process ids of the SnapKV language servers this code-server's extension host started (from /proc). */
  languageServerPids(): number[] {
    const serverMain = path.join(this.extensionsDir, 'snapkv.snapkv-code-0.1.0', 'out', 'server', 'src', 'server-main.js');
    const pids: number[] = [];
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const argv = fs.readFileSync(path.join('/proc', entry, 'cmdline'), 'utf8').split('\0');
        if (argv.includes(serverMain)) pids.push(Number(entry));
      } catch {
        // The process ended while we looked.
      }
    }
    return pids;
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  private async waitUntilListening(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.process.exitCode !== null) throw new Error(`code-server exited (${this.process.exitCode}):\n${this.log}`);
      if (await answers(`http://127.0.0.1:${this.port}/healthz`)) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`code-server did not listen within ${timeoutMs} ms:\n${this.log}`);
  }
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get(url, (response) => {
      response.resume();
      resolve((response.statusCode ?? 500) < 500);
    });
    request.on('error', () => resolve(false));
    request.setTimeout(2000, () => {
      request.destroy();
      resolve(false);
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
