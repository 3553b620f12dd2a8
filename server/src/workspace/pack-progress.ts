// Progress of packing, throttled: a large repository has tens of thousands of
// files, and each report may become an LSP notification.
import type { PackProgress, PackProgressListener } from './pack-types';

const MIN_REPORT_INTERVAL_MS = 100;

export class PackProgressReporter {
  private lastReport = -Infinity;

  constructor(private readonly listener: PackProgressListener | undefined) {}

  /** Reports unless one went out less than 100 ms ago; `final` always reports. */
  report(progress: PackProgress, final = false): void {
    if (!this.listener) return;
    const now = performance.now();
    if (!final && now - this.lastReport < MIN_REPORT_INTERVAL_MS) return;
    this.lastReport = now;
    this.listener(progress);
  }
}
