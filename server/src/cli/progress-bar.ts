// One line of progress on a terminal, redrawn in place; silent when stderr is
// not a terminal (logs and pipes get the final summary only).
import { describeIndexProgress } from '../session/progress-text';
import type { IndexProgress } from '../session/workspace-index';

const WIDTH = 24;

export class ProgressBar {
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  update(progress: IndexProgress): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const { message, percentage } = describeIndexProgress(progress);
    const filled = percentage === undefined ? 0 : Math.round((WIDTH * percentage) / 100);
    const bar = percentage === undefined ? '' : `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(percentage).padStart(3)}% `;
    const columns = this.stream.columns ?? 100;
    this.stream.write(`\r\x1b[K${(bar + message).slice(0, columns - 1)}`);
    this.drawn = true;
  }

  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
