// `--confirm TEXT [--confirm-wait DURATION] [--confirm-default accept|reject]`: the same
// three options wherever work can ask the device's user first (a SCOMO operation, a
// baseline, a profile apply, a live query or fix), read into the API's `confirm` body.
import { durationSeconds } from './campaign.ts';
import { UI_LIMITS } from '../omadm/user-interaction.ts';
import { UsageError } from './io.ts';

export const confirmOptions = {
  confirm: { type: 'string' },
  'confirm-wait': { type: 'string' },
  'confirm-default': { type: 'string' },
} as const;

/** How long a device waits for its user when --confirm-wait is left out. */
const DEFAULT_WAIT_S = 300;

export const confirmHelp = `--confirm TEXT       ask the device's user first (DM Alert 1101, confirm or reject);
                     nothing goes out unless the user accepts; a rejection ends the
                     work as canceled by the user, not failed; silence asks again at the
                     next session (three times at most)
--confirm-wait DURATION
                     how long the device waits for its user (default 5m; 30s, 10m, 2h)
--confirm-default accept|reject
                     what the device takes silence past --confirm-wait for (default:
                     no answer)`;

export interface ConfirmBody {
  text: string;
  maxSeconds: number;
  defaultResponse?: 'accept' | 'reject';
}

export function confirmBody(values: { confirm?: string | undefined; 'confirm-wait'?: string | undefined; 'confirm-default'?: string | undefined }): ConfirmBody | undefined {
  const wait = durationSeconds(values['confirm-wait'], '--confirm-wait');
  const dr = values['confirm-default'];
  if (values.confirm === undefined) {
    if (wait !== undefined || dr !== undefined) throw new UsageError('--confirm-wait and --confirm-default go with --confirm TEXT');
    return undefined;
  }
  if (values.confirm.trim() === '') throw new UsageError('--confirm takes the text the device shows its user');
  if (values.confirm.length > UI_LIMITS.text) throw new UsageError(`--confirm takes at most ${UI_LIMITS.text} characters (a device's screen is small)`);
  if (dr !== undefined && dr !== 'accept' && dr !== 'reject') throw new UsageError(`--confirm-default takes accept or reject, got ${JSON.stringify(dr)}`);
  if (wait !== undefined && wait < 1) throw new UsageError('--confirm-wait must be at least 1s');
  return { text: values.confirm, maxSeconds: Math.round(wait ?? DEFAULT_WAIT_S), ...(dr === undefined ? {} : { defaultResponse: dr }) };
}
