// One progress line on stderr: redrawn in place on a terminal; elsewhere (CI logs, pipes)
// a line when a new step starts and then at most one every few seconds, so long diffs
// never look hung and logs stay short.
import type { Output } from './io.ts';

export class ProgressLine {
  private lastText = '';
  private lastStep = '';
  private lastPrinted = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly output: Output,
    private readonly quietMs = 5000,
  ) {}

  /** `step` names the work in progress; a new step is always shown. */
  update(text: string, step = text): void {
    this.lastText = text;
    const now = Date.now();
    if (this.output.interactive) this.output.err(`\r\x1b[2K${text}`);
    else if (step !== this.lastStep || now - this.lastPrinted >= this.quietMs) {
      this.output.err(`${text}\n`);
      this.lastPrinted = now;
    }
    this.lastStep = step;
  }

  /** Redraws `text(elapsedSeconds)` every second until the next call or done(). */
  tick(step: string, text: (elapsedSeconds: number) => string): void {
    this.stopTicking();
    const started = Date.now();
    this.update(text(0), step);
    this.timer = setInterval(() => this.update(text(Math.round((Date.now() - started) / 1000)), step), 1000);
    this.timer.unref();
  }

  done(): void {
    this.stopTicking();
    if (this.output.interactive && this.lastText) this.output.err('\r\x1b[2K');
    this.lastText = '';
  }

  private stopTicking(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
