// What the numbers were measured on.
import * as fs from 'fs';
import * as os from 'os';
import { Engine } from '../server/src/engine';

export interface MachineInfo {
  date: string;
  cpuModel: string;
  /** Hardware threads the OS reports to this process. */
  logicalCpus: number;
  /** Threads the engine and the tools were told to use. */
  threads: number;
  cpuFlags: string[];
  memoryBytes: number;
  node: string;
  platform: string;
  /** The addon's SIMD level. */
  simd: string;
  /** 1-minute load average when the bench started: other work disturbs the numbers. */
  loadAverage: number;
}

/** The `model name` line of /proc/cpuinfo (os.cpus() elsewhere). */
export function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) return match[1].trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

function cpuFlags(): string[] {
  try {
    const match = /^flags\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) return match[1].split(/\s+/).filter((f) => /^(avx|fma|f16c|amx)/.test(f));
  } catch {
    // not Linux
  }
  return [];
}

export function logicalCpus(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

export function machineInfo(threads: number): MachineInfo {
  return {
    date: new Date().toISOString(),
    cpuModel: cpuModel(),
    logicalCpus: logicalCpus(),
    threads,
    cpuFlags: cpuFlags(),
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    simd: Engine.buildInfo().simd,
    loadAverage: os.loadavg()[0],
  };
}

/** Clock ticks of /proc/stat (USER_HZ): 100 on every Linux build that matters. */
const USER_HZ = 100;

export interface CpuSnapshot {
  readonly atMs: number;
  /** Busy ticks of all CPUs (user, nice, system, irq, softirq), or NaN off Linux. */
  readonly busyTicks: number;
  readonly stealTicks: number;
  /** CPU time of this process, all its threads, in microseconds. */
  readonly ownMicros: number;
}

export function cpuSnapshot(): CpuSnapshot {
  let busyTicks = NaN;
  let stealTicks = NaN;
  try {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields;
    busyTicks = user + nice + system + irq + softirq;
    stealTicks = steal ?? 0;
  } catch {
    // not Linux
  }
  const own = process.cpuUsage();
  return { atMs: performance.now(), busyTicks, stealTicks, ownMicros: own.user + own.system };
}

export interface OtherLoad {
  /** Cores kept busy, on average, by other processes (what would disturb a measurement). */
  otherCores: number;
  /** Cores the hypervisor took away, on average. */
  stealCores: number;
}

/** What else ran between two snapshots of a stretch in which this process ran no child process. */
export function otherLoad(before: CpuSnapshot, after: CpuSnapshot): OtherLoad {
  const seconds = (after.atMs - before.atMs) / 1000;
  if (!(seconds > 0) || Number.isNaN(before.busyTicks)) return { otherCores: NaN, stealCores: NaN };
  const busySeconds = (after.busyTicks - before.busyTicks) / USER_HZ;
  const ownSeconds = (after.ownMicros - before.ownMicros) / 1e6;
  return {
    otherCores: Math.max(0, busySeconds - ownSeconds) / seconds,
    stealCores: (after.stealTicks - before.stealTicks) / USER_HZ / seconds,
  };
}
