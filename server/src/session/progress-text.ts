// Index progress in words, for LSP progress messages and the terminal.
import type { IndexProgress } from './workspace-index';

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 90 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function describeIndexProgress(p: IndexProgress): { message: string; percentage: number | undefined } {
  switch (p.phase) {
    case 'loading-model':
      return { message: `loading model ${p.note ?? ''}`.trimEnd(), percentage: undefined };
    case 'listing':
      return {
        message: `reading files ${p.filesDone}/${p.filesTotal} (${p.tokensTotal.toLocaleString('en-US')} tokens)`,
        percentage: undefined,
      };
    case 'one-shot':
    case 'prefilling': {
      const rate = p.tokensPerSecond > 0 ? ` · ${Math.round(p.tokensPerSecond).toLocaleString('en-US')} tokens/s` : '';
      const eta = p.etaMs !== undefined ? ` · ${seconds(p.etaMs)} left` : '';
      const head = p.phase === 'one-shot' ? `${p.note ?? 'answering one-shot'} · ` : '';
      return {
        message: `${head}${p.filesTotal} files · ${p.tokensDone.toLocaleString('en-US')}/${p.tokensTotal.toLocaleString('en-US')} tokens${rate}${eta}`,
        percentage: p.tokensTotal > 0 ? Math.floor((100 * p.tokensDone) / p.tokensTotal) : undefined,
      };
    }
    case 'saving':
      return { message: `saving the cache of ${p.tokensTotal.toLocaleString('en-US')} tokens`, percentage: 100 };
  }
}
