// The engine's public surface for the rest of the server.
export { Engine, KV_TYPES } from './engine';
export type { BackendChoice, LoadOptions } from './engine';
export { AbortError, EngineError } from './errors';
export type { EngineErrorCode } from './errors';
export type { GenerateOptions } from './generation';
export { Model } from './model';
export type { BackendName, ModelInfo, PrefillOptions } from './model';
export type { KvType, MetadataValue, NativeInspection as ModelInspection, RopeScalingKind, RopeScalingRequest } from './native-addon';
export { CompactCache } from './compact-cache';
export type { KeptHead, SnapKvOptions } from './compact-cache';
export { KvCacheHandle } from './kv-cache';
export type { CacheStats } from './kv-cache';
export { PrefixCache } from './prefix-cache';
export type { ForwardOptions, QueryOptions } from './prefix-cache';
export type { PrefillProgress, ProgressListener } from './progress';
export type { TokenIds } from './tokens';
