// Phase 1 of a DM message: bytes to a SyncML message whose header the later phases can
// trust the shape of. Pure but for the guard's counter: nothing is looked up or stored
// before the header is known to be sane (limits.ts).
import { AppError } from '../../errors.ts';
import type { SyncMessage } from '../../omadm/codec/message.ts';
import { decodeMessage, encodeMessage } from '../../omadm/codec/syncml.ts';
import { type Answer, type DmRequest, plain, type Received, REFUSED_COMMAND, refusal } from './exchange.ts';
import type { DmGuard } from './guard.ts';
import { headerProblem } from './limits.ts';

export function decodeRequest(request: DmRequest, maxMessageBytes: number, guard: DmGuard): Received | Answer {
  let message: SyncMessage;
  try {
    message = decodeMessage(request.body, request.contentType, { maxBytes: maxMessageBytes, maxDepth: 32, maxElements: 20_000 });
  } catch (err) {
    if (err instanceof AppError) return plain(err.code === 'TOO_LARGE' ? 413 : 400, `cannot read the SyncML message: ${err.message}`);
    throw err;
  }
  const problem = headerProblem(message.header);
  if (problem) {
    guard.refused('bad-header');
    return plain(400, `SyncHdr refused: ${problem}`);
  }
  const received: Received = { message, request, encode: (m) => encodeMessage(m, request.contentType), ownMaxMsgSize: maxMessageBytes };
  if (message.header.verDTD !== '1.2') return refusal(received, 505, REFUSED_COMMAND); // DTD version not supported
  if (message.header.verProto !== 'DM/1.2') return refusal(received, 513, REFUSED_COMMAND); // protocol version not supported
  return received;
}
