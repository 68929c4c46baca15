// The pure phases of a DM message, without a database or a server: decoding with its
// header limits, the authentication decision and its challenge nonces, reading the
// device's commands, and fitting the reply into the device's MaxMsgSize. Whole sessions
// over HTTP are in session.test.ts and attacks.test.ts.
import { describe, expect, it } from 'vitest';
import { type AuthInput, authenticate } from '../../src/dm/session/authenticate.ts';
import { acceptedNonces, challengeKey, challengeKeyOf, challengeNonce } from '../../src/dm/session/challenge.ts';
import { readClientCommands } from '../../src/dm/session/client-commands.ts';
import { decodeRequest } from '../../src/dm/session/decode.ts';
import { type DmRequest, isAnswer } from '../../src/dm/session/exchange.ts';
import { DmGuard } from '../../src/dm/session/guard.ts';
import { buildReply } from '../../src/dm/session/reply.ts';
import type { AwaitedCommand, ServerCommand } from '../../src/dm/session/state.ts';
import { AUTH_BASIC, AUTH_MD5, basicCredential, encodeNonce, hmacHeader, md5Digest } from '../../src/omadm/auth.ts';
import { CONTENT_TYPE_XML, type Command, type SyncHdr, type SyncMessage } from '../../src/omadm/codec/message.ts';
import { decodeMessage, encodeMessage } from '../../src/omadm/codec/syncml.ts';
import { KeyVault } from '../../src/signing/vault.ts';

const header = (over: Partial<SyncHdr> = {}): SyncHdr => ({ verDTD: '1.2', verProto: 'DM/1.2', sessionId: '1A', msgId: 1, target: 'http://dm.example/dm', source: 'IMEI:1', ...over });
const alert = (cmdId: number, data: string): Command => ({ kind: 'Alert', cmdId, data, items: [] });
const request = (message: SyncMessage): DmRequest => ({ body: encodeMessage(message, CONTENT_TYPE_XML), contentType: CONTENT_TYPE_XML, serverUrl: 'http://dm.example/dm', address: '192.0.2.1' });
const guard = () => new DmGuard({ addressMaxFailures: 0, lockoutMs: 60_000 });

describe('decoding', () => {
  it('gives a message whose header is within the limits, with an encoder for the answer', () => {
    const decoded = decodeRequest(request({ header: header(), commands: [alert(1, '1201')], final: true }), 64 * 1024, guard());
    if (isAnswer(decoded)) throw new Error('answered');
    expect(decoded.message.header.sessionId).toBe('1A');
    expect(decodeMessage(decoded.encode(decoded.message), CONTENT_TYPE_XML).commands).toHaveLength(1);
  });

  it.each([
    ['SessionID', header({ sessionId: 'S'.repeat(33) })],
    ['Source LocURI', header({ source: `IMEI:${'9'.repeat(200)}` })],
    ['Source LocName', header({ sourceName: 'n'.repeat(129) })],
    ['Target LocURI', header({ target: `http://dm.example/${'x'.repeat(1100)}` })],
  ])('refuses a header whose %s is too long with HTTP 400, and counts it', (field, h) => {
    const g = guard();
    const decoded = decodeRequest(request({ header: h, commands: [alert(1, '1201')], final: true }), 64 * 1024, g);
    if (!isAnswer(decoded)) throw new Error('not refused');
    expect(decoded.answer.status).toBe(400);
    expect(new TextDecoder().decode(decoded.answer.body)).toContain(field);
    expect(g.counters.refused['bad-header']).toBe(1);
  });

  it('answers another DTD version with 505 and every command "not executed"', () => {
    const decoded = decodeRequest(request({ header: header({ verDTD: '1.1' }), commands: [alert(1, '1201'), alert(2, '1226')], final: true }), 64 * 1024, guard());
    if (!isAnswer(decoded)) throw new Error('not refused');
    const reply = decodeMessage(decoded.answer.body, CONTENT_TYPE_XML);
    expect(reply.commands.map((c) => (c.kind === 'Status' ? `${c.cmdRef}:${c.data}` : c.kind))).toEqual(['0:505', '1:215', '2:215']);
  });

  it('cuts a long error text', () => {
    const decoded = decodeRequest({ ...request({ header: header(), commands: [], final: true }), body: new TextEncoder().encode(`<SyncML>${'<x>'.repeat(20_000)}`) }, 1024 * 1024, guard());
    if (!isAnswer(decoded)) throw new Error('not refused');
    expect(decoded.answer.body.length).toBeLessThan(600);
  });
});

describe('the authentication decision', () => {
  const credentials = { name: 'dev01', password: 'clientpw' };
  const current = encodeNonce(new Uint8Array(16).fill(7));
  const other = encodeNonce(new Uint8Array(16).fill(9));
  const md5 = (nonce: string) => ({ meta: { type: AUTH_MD5 }, data: md5Digest(credentials.name, credentials.password, Buffer.from(nonce, 'base64')) });
  const decide = (over: Partial<AuthInput>) =>
    authenticate({ authType: 'md5', credentials, body: new Uint8Array(0), provenByToken: false, nonces: [current], challenge: () => other, msgId: 1, ...over });

  it('challenges a message without credentials (407) with the challenge nonce, and counts no failure', () => {
    expect(decide({})).toMatchObject({ ok: false, status: 407, failed: false, chal: { meta: { type: AUTH_MD5, nextNonce: other } } });
  });

  it('accepts a digest over an accepted nonce with 212 and a new nonce for the next session', () => {
    const decision = decide({ cred: md5(current) });
    expect(decision).toMatchObject({ ok: true, status: 212, verifiedWith: current });
    if (!decision.ok) throw new Error('refused');
    expect(decision.nextNonce).not.toBe(current);
    expect(decision.chal?.meta.nextNonce).toBe(decision.nextNonce);
  });

  it('refuses a digest over any other nonce: 401 with one more challenge in messages 1 and 2, then alone', () => {
    expect(decide({ cred: md5(other), msgId: 2 })).toMatchObject({ ok: false, status: 401, failed: true, chal: { meta: { nextNonce: other } } });
    const third = decide({ cred: md5(other), msgId: 3 });
    expect(third).toMatchObject({ ok: false, status: 401, failed: true });
    expect(third.chal).toBeUndefined();
  });

  it('lets a session token stand for the credentials of a digest device, but not of an HMAC one', () => {
    expect(decide({ provenByToken: true })).toEqual({ ok: true, status: 200 });
    expect(decide({ authType: 'hmac', provenByToken: true })).toMatchObject({ ok: false, status: 407 });
  });

  it('checks an HMAC over the exact body: 200 and a new nonce every message', () => {
    const body = new TextEncoder().encode('<SyncML/>');
    const mac = hmacHeader(credentials.name, credentials.password, Buffer.from(current, 'base64'), body);
    expect(decide({ authType: 'hmac', hmacHeader: mac, body })).toMatchObject({ ok: true, status: 200, verifiedWith: current });
    expect(decide({ authType: 'hmac', hmacHeader: mac, body: new TextEncoder().encode('<SyncML />') })).toMatchObject({ ok: false, status: 401 });
  });

  it('accepts basic for a basic device, and never for a digest one (the password would travel in the clear)', () => {
    const basic = { meta: { type: AUTH_BASIC }, data: basicCredential(credentials.name, credentials.password) };
    expect(decide({ authType: 'basic', cred: basic })).toMatchObject({ ok: true, status: 212, verifiedWith: '' });
    expect(decide({ cred: basic })).toMatchObject({ ok: false, status: 401, failed: true });
  });
});

describe('challenge nonces', () => {
  const key = challengeKey(new Uint8Array(32).fill(1));
  const subject = { deviceId: 'IMEI:1', sessionId: '1A', currentNonce: 'Y3VycmVudA==' };

  it('are the same for the same message and differ for any other device, session, message or current nonce', () => {
    const n = challengeNonce(key, subject, 1);
    expect(challengeNonce(key, subject, 1)).toBe(n);
    expect(Buffer.from(n, 'base64')).toHaveLength(16);
    for (const changed of [challengeNonce(key, { ...subject, deviceId: 'IMEI:2' }, 1), challengeNonce(key, { ...subject, sessionId: '1B' }, 1), challengeNonce(key, subject, 2), challengeNonce(key, { ...subject, currentNonce: null }, 1), challengeNonce(challengeKey(new Uint8Array(32).fill(2)), subject, 1)]) {
      expect(changed).not.toBe(n);
    }
  });

  it("are a vault's own: its key made ready once gives what its derived bytes give, and a vault under another master key (a rotation) gets other nonces", () => {
    const vault = KeyVault.fromKey(new Uint8Array(32).fill(5));
    const rotated = KeyVault.fromKey(new Uint8Array(32).fill(6));
    const bytes = vault.deriveKey('dm-challenge');
    expect(challengeKeyOf(vault)).toBe(challengeKeyOf(vault));
    expect(challengeNonce(challengeKeyOf(vault), subject, 1)).toBe(challengeNonce(challengeKey(bytes), subject, 1));
    expect(challengeNonce(challengeKeyOf(rotated), subject, 1)).toBe(challengeNonce(challengeKey(rotated.deriveKey('dm-challenge')), subject, 1));
    expect(challengeNonce(challengeKeyOf(rotated), subject, 1)).not.toBe(challengeNonce(challengeKeyOf(vault), subject, 1));
    // Asked again under the first vault after the other: its own nonce, not the one kept last.
    expect(challengeNonce(challengeKeyOf(vault), subject, 1)).toBe(challengeNonce(challengeKey(bytes), subject, 1));
  });

  it('accepted for a message: the current nonce first, then the challenge of the message before (none at MsgID 1)', () => {
    expect([...acceptedNonces(key, subject, 1)]).toEqual([subject.currentNonce]);
    expect([...acceptedNonces(key, subject, 3)]).toEqual([subject.currentNonce, challengeNonce(key, subject, 2)]);
    expect([...acceptedNonces(key, { ...subject, currentNonce: null }, 2)]).toEqual([challengeNonce(key, { ...subject, currentNonce: null }, 1)]);
  });
});

describe("reading the device's commands", () => {
  const awaited = (over: Partial<AwaitedCommand>): AwaitedCommand => ({ kind: 'Get', uri: './DevDetail/FwV', purpose: 'inventory', msgId: 2, cmdId: 3, ...over });

  it('takes Results of an awaited Get into the inventory and settles it; a Status for an unsent command is stray', () => {
    const effects = readClientCommands(header({ msgId: 3 }), [
      { kind: 'Status', cmdId: 1, msgRef: 2, cmdRef: 3, cmd: 'Get', targetRefs: [], sourceRefs: [], data: '200', items: [] },
      { kind: 'Results', cmdId: 2, msgRef: 2, cmdRef: 3, items: [{ source: './DevDetail/FwV', data: '2.0' }] },
      { kind: 'Status', cmdId: 3, msgRef: 2, cmdRef: 9, cmd: 'Get', targetRefs: [], sourceRefs: [], data: '200', items: [] },
    ], [awaited({})]);
    expect(effects.inventory).toEqual({ './DevDetail/FwV': '2.0' });
    expect(effects.awaiting).toEqual([]);
    expect(effects.strayStatuses).toBe(1);
  });

  it('reads FUMO Generic Alerts with or without the Reversed-Domain-Name prefix, and 1223 as an abort; each knows its Alert (the Status that answers it)', () => {
    const effects = readClientCommands(header(), [
      { kind: 'Alert', cmdId: 1, data: '1226', correlator: 'dep_1.1', items: [{ source: './FUMO/fota', meta: { type: 'Reversed-Domain-Name: org.openmobilealliance.dm.firmwareupdate.downloadandupdate', format: 'int' }, data: '200' }] },
      alert(2, '1223'),
    ], []);
    expect(effects.genericAlerts).toEqual([{ type: 'org.openmobilealliance.dm.firmwareupdate.downloadandupdate', format: 'int', source: './FUMO/fota', data: '200', correlator: 'dep_1.1', cmdRef: 1 }]);
    expect(effects.aborted).toBe(true);
  });

  it('answers a command a DM client may not send with 405', () => {
    const effects = readClientCommands(header(), [{ kind: 'Exec', cmdId: 4, items: [{ target: './Reboot' }] }], []);
    expect(effects.statuses.map((s) => [s.cmdRef, s.cmd, s.data])).toEqual([[4, 'Exec', '405']]);
  });
});

describe('the reply', () => {
  const encode = (m: SyncMessage) => encodeMessage(m, CONTENT_TYPE_XML);
  const get = (n: number): ServerCommand => ({ kind: 'Get', uri: `./Vendor/Node${n}/${'x'.repeat(200)}`, purpose: 'operation', opId: `op_${n}` });
  const reply = (commands: ServerCommand[], maxMsgSize?: number) =>
    buildReply({ received: header(), headerStatus: 212, statuses: [], commands, askForMore: false, msgId: 1, serverUrl: 'http://dm.example/dm', ownMaxMsgSize: 64 * 1024, encode, ...(maxMsgSize ? { maxMsgSize } : {}) });

  it('sends everything with Final when it fits', () => {
    const r = reply([get(1), get(2)]);
    expect(r.sent.map((c) => c.cmdId)).toEqual([2, 3]);
    expect(r.message.final).toBe(true);
  });

  it("keeps what does not fit the device's MaxMsgSize for the next message, without Final", () => {
    const whole = reply([get(1), get(2), get(3)]).bytes.length;
    const r = reply([get(1), get(2), get(3)], whole - 100);
    expect(r.bytes.length).toBeLessThanOrEqual(whole - 100);
    expect(r.sent.map((c) => c.opId)).toEqual(['op_1', 'op_2']);
    expect(r.leftover.map((c) => c.opId)).toEqual(['op_3']);
    expect(r.message.final).toBe(false);
  });

  it('sets aside a command that fits no message the device accepts', () => {
    const r = reply([{ kind: 'Replace', uri: './Vendor/Big', data: 'y'.repeat(4096), purpose: 'operation', opId: 'op_big' }, get(1)], 1500);
    expect(r.tooLarge.map((c) => c.opId)).toEqual(['op_big']);
    expect(r.sent.map((c) => c.opId)).toEqual(['op_1']);
  });
});
