import { CacheKind } from './results';

/** 'full cache' or 'SnapKV 2048', as rows and log lines name a cache. */
export function cacheName(cache: CacheKind): string {
  return cache === 'full' ? 'full cache' : `SnapKV ${cache}`;
}
