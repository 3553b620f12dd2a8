// The one door to the native engine: loading models and choosing a backend.
import { throwIfAborted } from './cancellation';
import { EngineError, nativeCall } from './errors';
import { nativeAddon, NativeBuildInfo } from './native-addon';
import { Model } from './model';

export type BackendChoice = 'auto' | 'cuda' | 'cpu';

export interface LoadOptions {
  /** 'auto' (default) takes CUDA when it is built and a device works, else the CPU. */
  backend?: BackendChoice;
  /** CPU threads for the computation (default: one per hardware thread). */
  threads?: number;
  signal?: AbortSignal;
}

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
    const reason = chooseBackend(backend);
    throwIfAborted(options.signal);
    const native = await nativeCall(() => nativeAddon().loadModel(path, { threads: options.threads ?? 0 }));
    if (options.signal?.aborted) {
      native.dispose();
      throwIfAborted(options.signal);
    }
    return new Model(native, reason);
  },
};

/** The reason the CPU runs the model; throws when CUDA was demanded and cannot be had. */
function chooseBackend(choice: BackendChoice): string {
  if (choice === 'cpu') return 'cpu backend requested';
  const cuda = nativeAddon().buildInfo().cuda;
  const gpuReason = cuda.usable
    ? `${cuda.deviceName} found, but this engine version computes on the CPU only`
    : cuda.message;
  if (choice === 'cuda') {
    throw new EngineError('BACKEND_UNAVAILABLE', `the CUDA backend cannot be used: ${gpuReason}; use backend 'cpu' or 'auto'`);
  }
  return `auto: CPU (${gpuReason})`;
}
