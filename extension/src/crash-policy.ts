// What to do when the language server's process dies: restart it a few times, then stop and say so.
import { CloseAction, CloseHandlerResult, ErrorAction, ErrorHandler, ErrorHandlerResult } from 'vscode-languageclient/node';

export interface CrashPolicyOptions {
  /** Restarts allowed within `windowMs`; one more crash inside the window stops the server for good. */
  maxRestarts: number;
  windowMs: number;
  /** Told after every crash, with whether the server is being restarted. */
  onCrash(crash: ServerCrash): void;
}

export interface ServerCrash {
  restarting: boolean;
  /** Crashes within the window, this one included. */
  recentCrashes: number;
  maxRestarts: number;
}

export class CrashPolicy implements ErrorHandler {
  private crashTimes: number[] = [];

  constructor(private readonly options: CrashPolicyOptions) {}

  error(_error: Error, _message: unknown, count: number | undefined): ErrorHandlerResult {
    // A few bad messages are survivable; a connection that keeps failing is shut down (and then `closed` decides).
    return { action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown, handled: true };
  }

  closed(): CloseHandlerResult {
    const now = Date.now();
    this.crashTimes = this.crashTimes.filter((time) => now - time < this.options.windowMs);
    this.crashTimes.push(now);
    const restarting = this.crashTimes.length <= this.options.maxRestarts;
    this.options.onCrash({ restarting, recentCrashes: this.crashTimes.length, maxRestarts: this.options.maxRestarts });
    return { action: restarting ? CloseAction.Restart : CloseAction.DoNotRestart, handled: true };
  }

  /** Forget past crashes (after the user restarts the server by hand). */
  reset(): void {
    this.crashTimes = [];
  }
}
