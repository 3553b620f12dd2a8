// The server's state behind its requests: the settings, the model, the index
// of the workspace folder, and the questions in flight. The LSP layer and the
// command-line tool both drive it.
import * as path from 'path';
import { AbortError, EngineError } from '../engine';
import type { AskParams, AskResult, ContextMap, ContextParams, IndexResult, ModelLoadStatus, RepositoryContext, ServerErrorCode, ServerSettings, StatusResult } from '../protocol';
import type { PackedBlock } from '../workspace/pack-types';
import { RemoteBackend } from '../remote/remote-backend';
import { DEFAULT_EXCERPT_LIMITS, keptExcerpts } from './kept-context';
import { ContextMapStore } from './context-map-store';
import { LoadedModel, loadModel, modelFileNote, modelLoadProgress, modelLoadStatus } from './loaded-model';
import { DEMO_MODEL_NOTE } from './demo-model';
import { findLocalModels, howToGetAModel } from './model-search';
import { PrefixStore } from './prefix-store';
import { QuestionScheduler } from './question-scheduler';
import { buildSuffix } from './prompt';
import { answerModeChooser } from './answer-mode';
import { QuestionPlan, questionBytesEstimate, runQuestion } from './question';
import { questionText } from './question-text';
import { ResolvedSettings, resolveSettings } from './settings';
import { checkRequest } from '../requests/request-schemas';
import { IndexClosedError, IndexProgress, PackedPrompt, WorkspaceIndex } from './workspace-index';

export type Log = (line: string) => void;

/** A load of the model in flight: what status reports of it, and the switch that drops it when a new model is chosen. */
interface ModelLoad {
  readonly status: ModelLoadStatus;
  readonly controller: AbortController;
  readonly promise: Promise<LoadedModel>;
  /** Callers waiting on it that may still cancel: when the last of them does, the read stops. */
  waiters: number;
  /** Wanted whoever cancels: started by the settings, or by a caller that cannot cancel. */
  kept: boolean;
}

/** An error meant for the user: its message says what to do. */
export class UserError extends Error {
  override name = 'UserError';
  constructor(
    message: string,
    /** What the client may do about it (protocol.ts). */
    readonly code: ServerErrorCode = 'INVALID_REQUEST',
  ) {
    super(message);
  }
}

export interface IndexCall {
  folder?: string;
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: IndexProgress) => void;
}

export interface AskCall {
  signal?: AbortSignal;
  onDelta?: (text: string) => void;
  onIndexProgress?: (progress: IndexProgress) => void;
  /** Called when the question waits for memory or an index update. */
  onQueued?: () => void;
  /**
   * Called once the question has passed every check made before the engine runs it (model loaded, index
   * complete, files to read, it fits the context) and its turn has come; with a remote endpoint, once the
   * endpoint accepted it. What fails after this is found while answering: HTTP opens its stream here.
   */
  onStarted?: () => void;
  /** Compress only: SnapKV's choice is wanted, no answer is generated. */
  contextOnly?: boolean;
  /** Called with what SnapKV kept and the packed files it maps to, while they are still current. */
  onKept?: (map: ContextMap, blocks: readonly PackedBlock[]) => void;
}

export interface SessionOptions {
  settings?: ServerSettings;
  /** Folder indexed when a request names none. */
  defaultFolder?: string;
  /**
   * The folders a request may name (the workspace folders the client declared). Absent: any
   * folder (the command line, where the user names it). A request for another folder is refused
   * before anything is read or thrown away.
   */
  workspaceFolders?: () => readonly string[];
  log?: Log;
  /** Model used when the settings name none and nothing is found where Ollama and LM Studio keep models. */
  fallbackModel?: () => string | undefined;
  onStatusChanged?: () => void;
}

const ANSWER_TEMPERATURE = 0;

const REMOTE_HAS_NO_CONTEXT =
  'the repository context comes from SnapKV, which runs in the local engine; answers now come from a remote endpoint (setting serverUrl), ' +
  'which reads the whole repository and keeps no SnapKV selection: clear serverUrl to use the local engine';

/** Folder paths compared as the platform does: case-insensitively on Windows. */
function sameFolder(a: string, b: string): boolean {
  const left = path.resolve(a);
  const right = path.resolve(b);
  return process.platform === 'win32' ? left.toLowerCase() === right.toLowerCase() : left === right;
}

export class Session {
  private settings: ResolvedSettings;
  private loaded: LoadedModel | undefined;
  private loading: ModelLoad | undefined;
  /** Settles when every model read or loaded before has let go of its memory: a new load waits for it. */
  private released: Promise<unknown> = Promise.resolve();
  private modelProblem: string | undefined;
  private index: WorkspaceIndex | undefined;
  /** Set when an OpenAI-compatible endpoint answers instead of the local engine (settings serverUrl). */
  private remote: RemoteBackend | undefined;
  /** Every wait for the prefix cache or for memory: questions, updates, saves. */
  private readonly scheduler: QuestionScheduler;
  private readonly maps = new ContextMapStore();
  private readonly questions = new Map<string, AbortController>();
  private readonly log: Log;
  private disposed = false;
  /** The folder indexed last; file changes and new settings update it again. */
  private indexedFolder: string | undefined;

  constructor(private readonly options: SessionOptions = {}) {
    this.settings = resolveSettings(options.settings);
    this.scheduler = new QuestionScheduler(this.settings.compactMemoryLimit);
    this.log = options.log ?? (() => {});
    this.remote = this.settings.remote ? new RemoteBackend(this.settings.remote, this.log) : undefined;
  }

  /** Loads the model, or asks the remote endpoint what it serves, so the first question does not wait. */
  async prepare(signal?: AbortSignal, onProgress?: (progress: IndexProgress) => void): Promise<void> {
    if (this.remote) await this.remote.probe(signal).finally(() => this.changed());
    else await this.model(signal, onProgress);
  }

  get resolvedSettings(): ResolvedSettings {
    return this.settings;
  }

  private changed(): void {
    this.options.onStatusChanged?.();
  }

  /** The model file to use: the setting, else the first model found locally, else the bundled fallback. */
  resolveModelPath(): string {
    if (this.settings.modelPath) return path.resolve(this.settings.modelPath);
    const found = findLocalModels();
    if (found.length > 0) {
      this.log(`no model set; using ${found[0].name} (${found[0].path}), found where ${found[0].source} keeps models`);
      return found[0].path;
    }
    const fallback = this.options.fallbackModel?.();
    if (fallback) {
      this.log(`no model set and none found locally; using the bundled demonstration model ${fallback}: ${DEMO_MODEL_NOTE}`);
      return fallback;
    }
    throw new UserError(howToGetAModel(), 'NO_MODEL');
  }

  /**
   * Loads the model once; concurrent callers share the load. Each caller that has to wait hears so through
   * `onProgress` (a 'loading-model' report), since reading a large file takes seconds. A caller that cancels
   * stops waiting at once; the read itself stops only when every caller waiting on it has cancelled. A caller
   * whose load was replaced by a newer choice of model (configure) waits for that one instead.
   */
  async model(signal?: AbortSignal, onProgress?: (progress: IndexProgress) => void): Promise<LoadedModel> {
    for (;;) {
      // Disposed: every request was cancelled, and none may start a load that nothing would let go.
      if (signal?.aborted || this.disposed) throw new AbortError();
      if (this.loaded) return this.loaded;
      const load = this.loading ?? this.startLoad();
      onProgress?.(modelLoadProgress(modelFileNote(load.status)));
      try {
        return await this.waitFor(load, signal);
      } catch (error) {
        // Replaced by a newer choice (configure): wait for that one, or fail as it fails.
        if (load.controller.signal.aborted && this.loading !== load && !signal?.aborted && !this.disposed) continue;
        throw error;
      }
    }
  }

  /** One caller's wait for a shared load: it ends on the caller's cancel, and the last waiter's cancel stops the read. */
  private waitFor(load: ModelLoad, signal: AbortSignal | undefined): Promise<LoadedModel> {
    if (!signal) {
      load.kept = true;
      return load.promise;
    }
    load.waiters += 1;
    return new Promise<LoadedModel>((resolve, reject) => {
      let waiting = true;
      const leave = (): boolean => {
        if (!waiting) return false;
        waiting = false;
        load.waiters -= 1;
        signal.removeEventListener('abort', cancel);
        return true;
      };
      const cancel = (): void => {
        if (!leave()) return;
        reject(new AbortError());
        if (load.waiters === 0 && !load.kept && this.loading === load) this.dropLoad(load);
      };
      signal.addEventListener('abort', cancel);
      load.promise.then(
        (loaded) => {
          if (leave()) resolve(loaded);
        },
        (error: unknown) => {
          if (leave()) reject(error);
        },
      );
    });
  }

  /** Stops a load no caller waits for any more; the next caller starts another, after this one has let go. */
  private dropLoad(load: ModelLoad): void {
    this.stopLoad(load);
    this.log(`stopped loading ${load.status.path}: every request waiting for it was cancelled`);
    this.changed();
  }

  /**
   * Stops the load in flight. The engine cannot interrupt a read: it runs to its end and the model read is then let
   * go, so the next load waits for that (`released`).
   */
  private stopLoad(load: ModelLoad): void {
    load.controller.abort(new AbortError());
    if (this.loading === load) this.loading = undefined;
    this.released = load.promise.catch(() => undefined);
  }

  /**
   * Starts reading the model the settings name; status reports it until it ends. It reads once every model before
   * it has let go (`released`), so that two models' weights are never held at once. `kept`: no caller's cancel stops it.
   */
  private startLoad(kept = false): ModelLoad {
    let modelPath: string;
    try {
      modelPath = this.resolveModelPath();
    } catch (error) {
      this.modelProblem = error instanceof Error ? error.message : String(error);
      this.changed();
      throw error;
    }
    const controller = new AbortController();
    const settings = this.settings;
    const after = this.released;
    const run = async (): Promise<LoadedModel> => {
      await after;
      if (controller.signal.aborted) throw new AbortError();
      this.log(`loading model ${modelPath}`);
      const loaded = await loadModel(modelPath, settings, controller.signal);
      const info = loaded.model.info;
      this.log(`loaded ${info.architecture} model (${info.layers} layers, context ${info.contextLength}) on ${info.backend}: ${info.backendReason}`);
      return loaded;
    };
    const load: ModelLoad = {
      status: modelLoadStatus(modelPath),
      controller,
      waiters: 0,
      kept,
      promise: run().then(
        (loaded) => {
          if (this.loading !== load) {
            loaded.model.dispose();
            throw new AbortError();
          }
          this.loaded = loaded;
          this.modelProblem = undefined;
          this.loading = undefined;
          this.changed();
          return loaded;
        },
        (error: unknown) => {
          if (this.loading === load) {
            this.loading = undefined;
            this.modelProblem = error instanceof Error ? error.message : String(error);
            this.changed();
          }
          throw error;
        },
      ),
    };
    // Settings may start a load that no request waits for; its failure is told through status, not thrown at nobody.
    load.promise.catch(() => undefined);
    this.loading = load;
    this.modelProblem = undefined;
    this.changed();
    return load;
  }

  private folderOf(folder: string | undefined): string {
    const chosen = folder ?? this.options.defaultFolder;
    if (!chosen) throw new UserError('no folder to index: open a folder in the editor, or name one');
    const resolved = path.resolve(chosen);
    const allowed = this.options.workspaceFolders?.();
    if (allowed !== undefined && !allowed.some((declared) => sameFolder(declared, resolved))) {
      throw new UserError(
        allowed.length === 0
          ? `${resolved} is not a workspace folder: the editor declared none, so no folder can be indexed`
          : `${resolved} is not a workspace folder (those are ${allowed.join(', ')}): only a folder open in the editor can be indexed`,
      );
    }
    return resolved;
  }

  private async indexFor(folder: string, signal?: AbortSignal, onProgress?: (progress: IndexProgress) => void): Promise<WorkspaceIndex> {
    let loaded = await this.model(signal, onProgress);
    // Let go while this caller resumed (configure chose another model): no index is built on it; the new one is waited for.
    while (loaded !== this.loaded) loaded = await this.model(signal, onProgress);
    if (this.index && this.index.folder === folder) return this.index;
    // Replaced before the old one is closed, so that callers meanwhile share the new index rather than each make
    // one; the old one is closed whatever the signal, so that its cache is freed once its questions end.
    const old = this.index;
    const index = new WorkspaceIndex(folder, loaded, new PrefixStore(this.settings.cacheDir, folder, this.log), this.scheduler, this.log);
    this.index = index;
    await old?.close();
    return index;
  }

  async indexFolder(call: IndexCall = {}): Promise<IndexResult> {
    const folder = this.folderOf(call.folder);
    if (this.remote) {
      const result = await this.remote.index(folder, this.settings, call);
      // File changes pack the folder again, as they update a local index.
      this.indexedFolder = folder;
      return result;
    }
    for (;;) {
      const index = await this.indexFor(folder, call.signal, call.onProgress);
      try {
        return await this.updateIndex(index, folder, call);
      } catch (error) {
        // Let go before its turn came (configure chose another model or packing): update the index that replaced it.
        if (error instanceof IndexClosedError && this.index !== index) continue;
        throw error;
      }
    }
  }

  private async updateIndex(index: WorkspaceIndex, folder: string, call: IndexCall): Promise<IndexResult> {
    this.changed();
    try {
      const result = await index.update({
        chooseAnswerMode: answerModeChooser(index.loaded.model, this.settings),
        maxContextTokens: this.settings.maxContextTokens,
        include: this.settings.include,
        exclude: this.settings.exclude,
        includeSecrets: this.settings.includeSecrets,
        force: call.force ?? false,
        signal: call.signal,
        onProgress: call.onProgress,
      });
      this.indexedFolder = folder;
      this.log(
        `indexed ${folder}: ${result.files} files, ${result.tokens} tokens (${result.source}, ${result.prefilledTokens} prefilled, ${result.seconds.toFixed(1)} s)`,
      );
      return result;
    } finally {
      this.changed();
    }
  }

  /** What indexing the folder would pack, without running the model over it. */
  async previewIndex(call: IndexCall = {}): Promise<PackedPrompt> {
    const index = await this.indexFor(this.folderOf(call.folder), call.signal, call.onProgress);
    return index.pack({
      maxContextTokens: this.settings.maxContextTokens,
      include: this.settings.include,
      exclude: this.settings.exclude,
      includeSecrets: this.settings.includeSecrets,
      signal: call.signal,
      onProgress: call.onProgress,
    });
  }

  async ask(unchecked: AskParams, call: AskCall = {}): Promise<AskResult> {
    // Checked here as well as at each entry point's door: nothing unchecked may reach the scheduler.
    const params = checkRequest.ask(unchecked);
    if (this.questions.has(params.requestId)) throw new UserError(`a question with id ${params.requestId} is already running`);
    if (params.question.trim() === '') throw new UserError('the question is empty: type a question');
    const controller = new AbortController();
    const signal = call.signal ? AbortSignal.any([call.signal, controller.signal]) : controller.signal;
    this.questions.set(params.requestId, controller);
    this.changed();
    const asked = performance.now();
    try {
      const folder = this.folderOf(params.folder);
      if (this.remote) {
        if (call.contextOnly) throw new UserError(REMOTE_HAS_NO_CONTEXT);
        return await this.remote.ask({ ...params, folder }, this.settings, { ...call, signal });
      }
      let index: WorkspaceIndex;
      let prefilledNow: number;
      do {
        index = await this.indexFor(folder, signal, call.onIndexProgress);
        prefilledNow = 0;
        if (!index.current || index.busy) {
          if (index.busy) call.onQueued?.();
          prefilledNow = (await this.indexFolder({ folder, signal, onProgress: call.onIndexProgress })).prefilledTokens;
        }
        // Let go while it was brought up to date (configure chose another model or packing): start over with the
        // index that replaces it. Still the session's now, so its close, if one comes, queues behind this question.
      } while (index !== this.index);
      const loaded = index.loaded;
      const snapkv = resolveSettings({ snapkv: params.snapkv }, this.settings).snapkv;
      const maxTokens = call.contextOnly ? 0 : Math.min(params.maxTokens ?? this.settings.maxAnswerTokens, this.settings.maxAnswerTokens * 8);
      const suffix = buildSuffix(loaded.tokenizer, loaded.template, params.history ?? [], questionText(params));
      const plan: QuestionPlan = { suffix, snapkv, maxTokens, temperature: params.temperature ?? ANSWER_TEMPERATURE };

      const bytes = questionBytesEstimate(loaded, plan, index.current?.answerMode);
      return await this.scheduler.run({ kind: 'question', bytes, signal, onQueued: call.onQueued }, async (turn) => {
        const snapshot = index.current;
        if (!snapshot) throw new UserError(`the index of ${folder} is not complete (an update was cancelled or failed): reindex the workspace`, 'INDEX_INCOMPLETE');
        if (snapshot.packed.blocks.length === 0) {
          const leftOut = snapshot.packed.leftOut.length;
          throw new UserError(
            `there are no files to read in ${folder}` +
              (leftOut > 0 ? ` (${leftOut} left out: binaries, secrets, lock files or your exclude globs; include globs, or includeSecrets for secrets, can admit them)` : ' (the folder is empty)'),
            'NOTHING_TO_READ',
          );
        }
        const context = loaded.model.info.contextLength;
        const repositoryTokens = snapshot.tokens.length;
        const needed = repositoryTokens + suffix.length + maxTokens;
        if (needed > context) {
          throw new UserError(
            `the question does not fit: the repository takes ${repositoryTokens} tokens, the question ${suffix.length} ` +
              `and the answer up to ${maxTokens}, together ${needed}, over the model's context of ${context} tokens. ` +
              'Shorten the question or the chat history, or leave files out (setting maxContextTokens or exclude globs).',
            'QUESTION_TOO_LONG',
          );
        }
        call.onStarted?.();
        const { result, map } = await runQuestion(loaded, {
          params,
          plan,
          snapshot,
          signal,
          onDelta: (text) => call.onDelta?.(text),
          onCompressed: () => turn.doneReading(),
          onOneShotProgress: (p) => {
            const files = snapshot.packed.blocks.length;
            call.onIndexProgress?.({ ...p, phase: 'one-shot', filesDone: files, filesTotal: files, note: snapshot.answerMode.info.note });
          },
          queuedMs: performance.now() - asked,
        });
        this.maps.add(map);
        call.onKept?.(map, snapshot.packed.blocks);
        const { layers, kvHeads } = loaded.model.info;
        result.answerMode = snapshot.answerMode.info;
        result.prompt = {
          promptTokens: repositoryTokens + suffix.length,
          repositoryTokens,
          // One-shot keeps no cache: the whole repository ran through the model for this question.
          cachedTokens: snapshot.prefix ? Math.max(0, repositoryTokens - prefilledNow) : 0,
          keptTokens: Math.round(map.keptTotal / (layers * kvHeads)),
        };
        return result;
      });
    } finally {
      this.questions.delete(params.requestId);
      this.changed();
    }
  }

  /** What SnapKV keeps for a question, ranked, with the text of the kept lines; no answer is generated. */
  async context(params: ContextParams, call: Omit<AskCall, 'onDelta' | 'contextOnly' | 'onKept'> = {}): Promise<RepositoryContext> {
    const limits = { maxFiles: params.maxFiles ?? DEFAULT_EXCERPT_LIMITS.maxFiles, maxChars: params.maxChars ?? DEFAULT_EXCERPT_LIMITS.maxChars };
    let excerpts: ReturnType<typeof keptExcerpts> | undefined;
    let kept: ContextMap | undefined;
    const result = await this.ask(
      { requestId: params.requestId, question: params.question, folder: params.folder, history: params.history, snapkv: params.snapkv },
      {
        ...call,
        contextOnly: true,
        onKept: (map, blocks) => {
          kept = map;
          excerpts = keptExcerpts(map, blocks, limits);
        },
      },
    );
    if (!kept || !excerpts || !result.prompt) throw new Error('the question was compressed but reported nothing kept');
    return {
      requestId: params.requestId,
      question: params.question,
      files: excerpts.files,
      truncated: excerpts.truncated,
      keptTotal: kept.keptTotal,
      keptOutsideFiles: kept.keptOutsideFiles,
      prompt: result.prompt,
      compressMs: result.timings.compressMs,
    };
  }

  /** Updates the folder indexed last (after file changes or new settings). */
  async reindex(call: Omit<IndexCall, 'folder' | 'force'> = {}): Promise<IndexResult | undefined> {
    if (!this.indexedFolder) return undefined;
    return this.indexFolder({ ...call, folder: this.indexedFolder });
  }

  /** The files the current index listed, packed or left out (relative paths): what serve's folder watcher watches. */
  indexedFiles(): string[] {
    const packed = this.index?.current?.packed;
    return packed ? [...packed.blocks.map((block) => block.path), ...packed.leftOut.map((file) => file.path)] : [];
  }

  /** Whether a folder has been indexed, so file changes should update it. */
  hasIndex(): boolean {
    return this.indexedFolder !== undefined;
  }

  /** Stops a question: a partial answer is returned as cancelled; a question still compressing fails with AbortError. */
  cancel(requestId: string): boolean {
    const controller = this.questions.get(requestId);
    controller?.abort(new AbortError());
    return controller !== undefined;
  }

  cancelAll(): void {
    for (const controller of this.questions.values()) controller.abort(new AbortError());
  }

  contextMap(requestId?: string): ContextMap | undefined {
    return this.maps.get(requestId);
  }

  status(): StatusResult {
    const loaded = this.loaded;
    const info = loaded?.model.info;
    const gpu = loaded?.model.gpuMemory() ?? null;
    return {
      model:
        loaded && info
          ? {
              path: loaded.path,
              architecture: info.architecture,
              parameters: loaded.parameters,
              contextLength: info.contextLength,
              backend: info.backend,
              backendReason: info.backendReason,
              ...(gpu ? { gpu: { name: gpu.name, memoryInUse: gpu.inUse, memoryBudget: gpu.budget, weightBytes: gpu.weightBytes } } : {}),
              demo: loaded.path === this.options.fallbackModel?.(),
            }
          : null,
      modelProblem: this.modelProblem,
      ...(!this.remote && this.loading ? { modelLoad: { ...this.loading.status } } : {}),
      folder: this.index?.folder ?? this.options.defaultFolder ?? null,
      indexing: this.index?.busy ?? false,
      files: this.remote?.indexed?.files ?? this.index?.current?.packed.blocks.length ?? 0,
      tokensIndexed: this.remote?.indexed?.tokens ?? this.index?.current?.tokens.length ?? 0,
      prefixBytes: this.index?.prefixBytes() ?? 0,
      ...(!this.remote && this.index?.current ? { answerMode: this.index.current.answerMode.info } : {}),
      compactBytes: this.scheduler.bytesInUse,
      questionsRunning: this.scheduler.questionsRunning,
      questionsQueued: Math.max(0, this.questions.size - this.scheduler.questionsRunning),
      ...(this.remote ? { remote: this.remote.status() } : {}),
    };
  }

  /**
   * New settings from the client. A new model or backend is loaded after the
   * running questions end; new packing rules re-index. Returns whether the
   * index must be rebuilt.
   */
  async configure(settings: ServerSettings): Promise<{ reindex: boolean }> {
    const next = resolveSettings(settings, this.settings);
    const before = this.settings;
    this.settings = next;
    this.scheduler.setLimit(next.compactMemoryLimit);
    const modelChanged =
      next.modelPath !== before.modelPath ||
      next.backend !== before.backend ||
      next.gpuMemoryBytes !== before.gpuMemoryBytes ||
      next.prefixInHostMemory !== before.prefixInHostMemory ||
      next.kvType !== before.kvType ||
      next.threads !== before.threads ||
      next.exact !== before.exact ||
      JSON.stringify(next.rope) !== JSON.stringify(before.rope);
    const packingChanged =
      JSON.stringify([next.include, next.exclude, next.includeSecrets, next.maxContextTokens, next.cacheDir, next.hostMemoryBytes]) !==
      JSON.stringify([before.include, before.exclude, before.includeSecrets, before.maxContextTokens, before.cacheDir, before.hostMemoryBytes]);
    const remoteChanged = JSON.stringify(next.remote) !== JSON.stringify(before.remote);
    if (remoteChanged) {
      this.remote?.dispose();
      this.remote = next.remote ? new RemoteBackend(next.remote, this.log) : undefined;
      if (this.remote) void this.prepare().catch(() => undefined);
    }
    if (modelChanged) {
      // The new choice replaces the load in flight rather than queueing behind it, and status names the new file
      // from now on. The old model is let go once its running questions end; requests arriving meanwhile wait for
      // the new one, which is read once the old has let go. Loaded at once, as at the server's start, so that
      // status tells of the load rather than of no model.
      const unloaded = this.unloadModel();
      if (!this.remote && !this.disposed) this.startLoadQuietly();
      await unloaded;
    } else if (packingChanged && this.index) {
      // Detached before it is closed, as for a new model: no request takes it from here on.
      const index = this.index;
      this.index = undefined;
      this.log(`packing settings changed; ${index.folder} will be indexed again`);
      await index.close();
    }
    this.changed();
    return { reindex: modelChanged || packingChanged || remoteChanged };
  }

  /** A load no request waits for: a failure is in modelProblem (startLoad sets it). */
  private startLoadQuietly(): void {
    if (this.loading || this.loaded) return;
    try {
      this.startLoad(true);
    } catch {
      // No model to load: modelProblem says what to do.
    }
  }

  /**
   * Lets go of the model, its load in flight and its index. Detached at once, so that no request takes the old
   * model from here on; its memory is freed once its running questions end, and `released` settles then.
   */
  private unloadModel(): Promise<void> {
    const load = this.loading;
    const index = this.index;
    const loaded = this.loaded;
    if (load) this.stopLoad(load);
    const stopped = this.released;
    this.index = undefined;
    this.loaded = undefined;
    this.modelProblem = undefined;
    const unloaded = (async () => {
      await stopped;
      await index?.close();
      loaded?.model.dispose();
    })();
    this.released = unloaded.catch(() => undefined);
    return unloaded;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.cancelAll();
    this.remote?.dispose();
    await this.unloadModel();
  }
}
