// The one door to the native engine: loading models and choosing a backend.
import { throwIfAborted } from './cancellation';
import { EngineError, nativeCall } from './errors';
import { KvType, nativeAddon, NativeBuildInfo, NativeInspection, NativeModel, RopeScalingRequest } from './native-addon';
import { Model } from './model';

export type BackendChoice = 'auto' | 'cuda' | 'cpu';

export const KV_TYPES: readonly KvType[] = ['f16', 'bf16', 'q8_0', 'f32'];

export interface LoadOptions {
  /** 'auto' (default) takes CUDA when it is built and a device works, else the CPU. */
  backend?: BackendChoice;
  /** CPU threads for the computation (0 or absent: one per hardware thread, the engine's thread pool decides). */
  threads?: number;
  /**
   * How the CPU backend stores keys and values (default 'f16', the engine's choice: half the bytes of f32, rounding
   * keys to 11 significant bits). 'f32' is exact: the float64 checks use it. The CUDA backend keeps f32.
   */
  kvType?: KvType;
  /** GPU memory the engine may use (default: what is free at load, less 5% or 512 MiB). */
  gpuMemoryBytes?: number;
  /** Keep prompt caches in host memory and stream them to the GPU a layer at a time (CUDA backend). */
  prefixInHostMemory?: boolean;
  /** RoPE scaling instead of the file's: { ropeScaling: 'yarn', ropeScale: 4 } serves a 32K Qwen2.5 at 128K. */
  rope?: RopeScalingRequest;
  /**
   * CPU matrix products in exact f32 (what the float64 reference checks hold to) instead of the
   * default fast int8 ones (test/fast-cpu-products.test.ts holds their error against the float64 reference).
   */
  exact?: boolean;
  signal?: AbortSignal;
}

/** Which backend to try first, and what to say when the CPU is taken. */
export interface BackendPlan {
  first: 'cpu' | 'cuda';
  /** The reason the CPU runs the model, when it is the first choice. */
  cpuReason: string;
  /** Whether a model that cannot run on the GPU falls back to the CPU. */
  fallBackToCpu: boolean;
}

/** The rule of backend choice, from what the build says about CUDA. */
export function planBackend(choice: BackendChoice, cuda: NativeBuildInfo['cuda']): BackendPlan {
  if (choice === 'cpu') return { first: 'cpu', cpuReason: 'cpu backend requested', fallBackToCpu: false };
  if (choice === 'cuda') return { first: 'cuda', cpuReason: '', fallBackToCpu: false };
  if (cuda.usable) return { first: 'cuda', cpuReason: '', fallBackToCpu: true };
  return { first: 'cpu', cpuReason: `auto: CPU (${cuda.message})`, fallBackToCpu: false };
}

/** Errors after which 'auto' still runs the model on the CPU: it does not fit the GPU, or the kernels do not take its shape. */
const CPU_FALLBACK_CODES = new Set(['OUT_OF_MEMORY', 'UNSUPPORTED_MODEL', 'BACKEND_UNAVAILABLE']);

export const Engine = {
  /** What the native build contains and which GPU it sees. */
  buildInfo(): NativeBuildInfo {
    return nativeAddon().buildInfo();
  },

  async load(path: string, options: LoadOptions = {}): Promise<Model> {
    const backend = options.backend ?? 'auto';
    if (backend !== 'auto' && backend !== 'cuda' && backend !== 'cpu') {
      throw new EngineError('INVALID_ARGUMENT', `backend must be 'auto', 'cuda' or 'cpu', not '${String(backend)}'`);
    }
    const gpuMemoryBytes = options.gpuMemoryBytes ?? 0;
    if (!(gpuMemoryBytes >= 0)) throw new EngineError('INVALID_ARGUMENT', 'gpuMemoryBytes must not be negative');
    throwIfAborted(options.signal);
    const plan = planBackend(backend, nativeAddon().buildInfo().cuda);
    const threads = options.threads ?? 0;
    if (!Number.isInteger(threads) || threads < 0) throw new EngineError('INVALID_ARGUMENT', `threads must be a whole number, 0 or more, not ${String(threads)}`);
    if (options.kvType !== undefined && !KV_TYPES.includes(options.kvType)) {
      throw new EngineError('INVALID_ARGUMENT', `kvType must be ${KV_TYPES.map((t) => `'${t}'`).join(', ')}, not '${String(options.kvType)}'`);
    }
    // Absent: the engine's default (ModelLoadOptions owns it), reported back in model.info.kvType.
    const kvType = options.kvType === undefined ? {} : { kvType: options.kvType };
    const rope = ropeOptions(options.rope);
    const exact = options.exact === true;
    let native: NativeModel;
    let reason = plan.cpuReason;
    if (plan.first === 'cuda') {
      try {
        native = await nativeCall(() => nativeAddon().loadModel(path, { threads, backend: 'cuda', ...kvType, gpuMemoryBytes, prefixInHostMemory: options.prefixInHostMemory === true, exact, ...rope }));
        reason = backend === 'auto' ? `auto: CUDA on ${native.info().deviceName ?? 'the GPU'}` : 'cuda backend requested';
      } catch (error) {
        if (!plan.fallBackToCpu || !(error instanceof EngineError) || !CPU_FALLBACK_CODES.has(error.code)) throw error;
        throwIfAborted(options.signal);
        native = await nativeCall(() => nativeAddon().loadModel(path, { threads, backend: 'cpu', ...kvType, exact, ...rope }));
        reason = `auto: CPU, because the GPU cannot run this model (${error.message})`;
      }
    } else {
      native = await nativeCall(() => nativeAddon().loadModel(path, { threads, backend: 'cpu', ...kvType, exact, ...rope }));
    }
    if (options.signal?.aborted) {
      native.dispose();
      throwIfAborted(options.signal);
    }
    return new Model(native, reason);
  },

  /**
   * What the file is and whether it runs here (the CPU backend's rules, which
   * every model the GPU cannot take falls back to), read from its header and
   * tensor directory only: the same checks as load, no weights read.
   */
  async inspect(path: string, rope?: RopeScalingRequest): Promise<NativeInspection> {
    return nativeCall(() => nativeAddon().inspectModel(path, ropeOptions(rope)));
  },
};

/** Only the keys that are set, so the addon sees no undefined values. */
function ropeOptions(rope: RopeScalingRequest | undefined): RopeScalingRequest {
  if (rope?.ropeScaling === undefined) return {};
  return rope.ropeScale === undefined ? { ropeScaling: rope.ropeScaling } : { ropeScaling: rope.ropeScaling, ropeScale: rope.ropeScale };
}
