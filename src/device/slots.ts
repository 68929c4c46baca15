// A/B image slots: `slot-a.bin` and `slot-b.bin` in the data dir and an `active` file
// naming the one that runs. An update is written whole into the other slot and checked
// there; only then is `active` switched, by a rename, so a crash at any moment leaves
// either the old image or the new one active, never a half-written one.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.ts';
import { writeFileAtomic } from '../files.ts';
import { type ImageFiles, localImages } from './images.ts';

export type SlotName = 'a' | 'b';

export class Slots {
  constructor(readonly dataDir: string) {}

  path(slot: SlotName): string {
    return join(this.dataDir, `slot-${slot}.bin`);
  }

  get pointerPath(): string {
    return join(this.dataDir, 'active');
  }

  async active(): Promise<SlotName | undefined> {
    let text: string;
    try {
      text = (await readFile(this.pointerPath, 'utf8')).trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    if (text !== 'a' && text !== 'b') throw new AppError('VALIDATION', `${this.pointerPath} must say "a" or "b", not ${JSON.stringify(text.slice(0, 20))}`);
    return text;
  }

  async activeOrFail(): Promise<SlotName> {
    const slot = await this.active();
    if (!slot) throw new AppError('VALIDATION', `no installed image in ${this.dataDir}: start the agent once with --image and --version`);
    return slot;
  }

  static other(slot: SlotName): SlotName {
    return slot === 'a' ? 'b' : 'a';
  }

  /** First start: the given image becomes slot A, and A is active. */
  async install(imagePath: string, images: ImageFiles = localImages): Promise<void> {
    await images.copy(imagePath, this.path('a'));
    await this.switchTo('a');
  }

  async switchTo(slot: SlotName): Promise<void> {
    await writeFileAtomic(this.pointerPath, `${slot}\n`);
  }
}
