// What a GPU benchmark ran on: the card, its driver and CUDA version as
// nvidia-smi reports them, the compiler, the engine's own view of the device,
// and the host. Anything that cannot be read says why instead.
import { execFileSync } from 'child_process';
import * as os from 'os';
import { Engine } from '../../server/src/engine';
import { cpuModel, logicalCpus } from '../machine';

export interface DeviceInfo {
  date: string;
  gpu: string;
  driver: string;
  cudaVersion: string;
  gpuMemory: string;
  nvcc: string;
  /** The addon's view: CUDA compiled in, the device it sees, or why not. */
  engineCuda: string;
  cpu: string;
  logicalCpus: number;
  hostMemoryBytes: number;
  node: string;
  platform: string;
}

function run(command: string, args: readonly string[]): { ok: true; text: string } | { ok: false; why: string } {
  try {
    return { ok: true, text: execFileSync(command, args, { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    const why = e.code === 'ENOENT' ? `${command} not found` : (e.stderr?.trim().split('\n')[0] ?? e.message);
    return { ok: false, why };
  }
}

/** nvidia-smi's banner line holds "CUDA Version: 13.0": the highest the driver supports. */
export function parseCudaVersion(banner: string): string | undefined {
  return /CUDA Version:\s*([0-9.]+)/.exec(banner)?.[1];
}

/** `nvcc --version`'s last line names the release: "Cuda compilation tools, release 13.0, V13.0.88". */
export function parseNvccRelease(text: string): string | undefined {
  return /release\s+([0-9.]+),\s*(V[0-9.]+)/.exec(text)?.slice(1, 3).join(' ');
}

function engineCuda(): string {
  try {
    const cuda = Engine.buildInfo().cuda;
    if (!cuda.compiled) return 'not compiled in (no nvcc when the addon was built)';
    return cuda.usable ? `usable: ${cuda.deviceName}, ${(cuda.totalMemory / 2 ** 30).toFixed(1)} GiB` : `not usable: ${cuda.message}`;
  } catch (error) {
    return `addon not loadable: ${error instanceof Error ? error.message : String(error)}`;
  }
}

export function deviceInfo(): DeviceInfo {
  const query = run('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader']);
  const banner = run('nvidia-smi', []);
  const nvcc = run('nvcc', ['--version']);
  const [gpu, driver, memory] = query.ok ? query.text.trim().split('\n')[0].split(',').map((s) => s.trim()) : [];
  const unavailable = query.ok ? 'unknown' : `none found (${query.why})`;
  return {
    date: new Date().toISOString(),
    gpu: gpu ?? unavailable,
    driver: driver ?? (query.ok ? 'unknown' : '-'),
    gpuMemory: memory ?? unavailable,
    cudaVersion: banner.ok ? (parseCudaVersion(banner.text) ?? 'not in the nvidia-smi banner') : '-',
    nvcc: nvcc.ok ? (parseNvccRelease(nvcc.text) ?? nvcc.text.trim().split('\n').pop() ?? '') : `unavailable (${nvcc.why})`,
    engineCuda: engineCuda(),
    cpu: cpuModel(),
    logicalCpus: logicalCpus(),
    hostMemoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}
