// The logger of one DM message (message-log.ts) writes what a pino child of the server's
// logger would: the device, session and message on every line, the server's level, and its
// redaction of secrets; it only defers making the child until a line is written.
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { messageLog } from '../../src/dm/session/message-log.ts';
import { LEVEL, parseLog } from '../support/log.ts';

/** A logger as context.ts makes it (the same redaction), writing into `lines`. */
function serverLog(level: 'info' | 'debug') {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  const log = pino({ level, redact: ['req.headers.authorization', '*.token', '*.secretKey', '*.password'] }, sink);
  return { log, lines: () => parseLog(lines) };
}

const BINDINGS = { devId: 'IMEI:350000000000001', sessionId: '1A', msgId: 2 };

describe('a DM message logger', () => {
  it('writes each line with the device, session and message, as a child of the server logger does', () => {
    const server = serverLog('info');
    const log = messageLog(server.log, BINDINGS);
    log.warn({ expected: 3 }, 'DM message out of order refused');
    log.info('DM first contact refused');
    expect(server.lines()).toMatchObject([
      { level: LEVEL.warn, msg: 'DM message out of order refused', expected: 3, ...BINDINGS },
      { level: LEVEL.info, msg: 'DM first contact refused', ...BINDINGS },
    ]);
  });

  it('keeps the server level: debug lines are not written at info, and are at debug', () => {
    const quiet = serverLog('info');
    const log = messageLog(quiet.log, BINDINGS);
    expect(log.isLevelEnabled('debug')).toBe(false);
    expect(log.isLevelEnabled('info')).toBe(true);
    log.debug({ status: 407 }, 'DM authentication challenge');
    expect(quiet.lines()).toEqual([]);

    const verbose = serverLog('debug');
    const chatty = messageLog(verbose.log, BINDINGS);
    expect(chatty.isLevelEnabled('debug')).toBe(true);
    chatty.debug({ status: 407 }, 'DM authentication challenge');
    expect(verbose.lines()).toMatchObject([{ level: LEVEL.debug, status: 407, ...BINDINGS }]);
  });

  it('redacts secrets as the server logger does, also in a child of it', () => {
    const server = serverLog('info');
    const log = messageLog(server.log, BINDINGS);
    log.info({ account: { password: 'hunter2' }, link: { token: 'dl_secret' } }, 'credentials');
    log.child({ requestId: 'r1' }).warn({ account: { password: 'hunter2' } }, 'again');
    const written = server.lines();
    expect(JSON.stringify(written)).not.toContain('hunter2');
    expect(JSON.stringify(written)).not.toContain('dl_secret');
    expect(written).toMatchObject([
      { msg: 'credentials', account: { password: '[Redacted]' }, link: { token: '[Redacted]' }, ...BINDINGS },
      { msg: 'again', requestId: 'r1', account: { password: '[Redacted]' }, ...BINDINGS },
    ]);
  });

  it('binds a hostile device id as data, never as fields of the line', () => {
    const server = serverLog('info');
    const devId = 'IMEI:1","level":60,"msg":"forged';
    messageLog(server.log, { ...BINDINGS, devId }).warn('DM message out of order refused');
    expect(server.lines()).toMatchObject([{ level: LEVEL.warn, msg: 'DM message out of order refused', devId }]);
  });
});
