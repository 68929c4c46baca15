// The checkpoint thread of a SQLite store (src/store/checkpointer.ts) when its database
// cannot be opened: while the store is open that is worth a warning (its folder vanished
// under a running server); once the store is closed it is nobody's business, and the
// thread stops without a word.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { walCheckpointer } from '../../src/store/checkpointer.ts';
import { tempDir } from '../support/harness.ts';

describe('the checkpoint thread', () => {
  it('reports a database it cannot open while its store is open', async () => {
    const errors: string[] = [];
    let reported: () => void = () => undefined;
    const seen = new Promise<void>((resolve) => {
      reported = resolve;
    });
    const checkpointer = walCheckpointer(join(tempDir(), 'gone', 'fota.db'), {
      everyCommits: 1,
      onError: (message) => {
        errors.push(message);
        reported();
      },
    });
    checkpointer.committed();
    await seen;
    await checkpointer.close();
    expect(errors).toEqual([expect.stringMatching(/directory does not exist/)]);
  });

  it('stops quietly when its store is closed, even if its database is gone by then', async () => {
    const errors: string[] = [];
    const checkpointer = walCheckpointer(join(tempDir(), 'gone', 'fota.db'), { everyCommits: 1, onError: (message) => errors.push(message) });
    checkpointer.committed();
    await checkpointer.close();
    checkpointer.committed();
    expect(errors).toEqual([]);
  });
});
