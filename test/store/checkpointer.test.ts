// The checkpoint thread of a SQLite store (src/store/checkpointer.ts) when its database
// cannot be opened: while the store is open that is worth a warning (its folder vanished
// under a running server); once the store is closed it is nobody's business, and the
// thread stops without a word.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
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

  it('lets a process that started it and never closed it exit once its work is done', () => {
    // As a CLI command that committed enough to start the thread: only the thread is left.
    const dir = tempDir();
    const script = join(dir, 'commits.ts');
    const module = pathToFileURL(join(process.cwd(), 'src/store/checkpointer.ts')).href;
    writeFileSync(
      script,
      `import { walCheckpointer } from ${JSON.stringify(module)};
const checkpointer = walCheckpointer(${JSON.stringify(join(dir, 'fota.db'))}, { everyCommits: 1, onError: (m) => console.log('error', m), onCheckpoint: () => console.log('checkpointed') });
checkpointer.committed();
`,
    );
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: process.cwd(), encoding: 'utf8', timeout: 60_000 });
    expect(run.signal, 'the process was still running after 60 s').toBeNull();
    expect({ status: run.status, stdout: run.stdout.trim() }).toEqual({ status: 0, stdout: 'checkpointed' });
  });
});
