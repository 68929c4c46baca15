// One progress line on stderr: redrawn in place on a terminal, and at most one line every
// few seconds otherwise (CI logs, pipes), so long diffs never look hung.
import type { Output } from './io.ts';

export class ProgressLine {
  private lastText = '';
  private lastPrinted = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly output: Output,
    private readonly quietMs = 5000,
  ) {}

  update(text: string): void {
    this.lastText = text;
    const now = Date.now();
    if (this.output.interactive) this.output.err(`\r\x1b[2K${text}`);
    else if (now - this.lastPrinted >= this.quietMs) {
      this.output.err(`${text}\n`);
      this.lastPrinted = now;
    }
  }

  /** Redraws `text(elapsedSeconds)` every second until the next call or done(). */
  tick(text: (elapsedSeconds: number) => string): void {
    this.stopTicking();
    const started = Date.now();
    this.update(text(0));
    this.timer = setInterval(() => this.update(text(Math.round((Date.now() - started) / 1000))), 1000);
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
