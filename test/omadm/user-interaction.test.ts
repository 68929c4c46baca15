// DM user-interaction alerts (1100-1104): each kind as the server writes it, read back by
// our codec and by Debian's libwbxml (wbxml2xml on our WBXML, xml2wbxml of our XML read
// by our WBXML decoder); options, answers and default responses; malformed alerts refused.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../src/omadm/codec/syncml.ts';
import { type AlertCommand, CONTENT_TYPE_WBXML, CONTENT_TYPE_XML, type SyncMessage } from '../../src/omadm/codec/message.ts';
import { decodeUiOptions, defaultAnswer, encodeUiOptions, readUiAlert, uiAlert, uiAnswerOf, type UiPrompt, uiStatusOf } from '../../src/omadm/user-interaction.ts';
import { hasTool, tempDir } from '../support/harness.ts';

const wbxmlTools = hasTool('xml2wbxml', 'libwbxml2-utils') && hasTool('wbxml2xml', 'libwbxml2-utils');

const PROMPTS: Array<[string, UiPrompt]> = [
  ['1100', { kind: 'display', text: 'Your device will restart tonight', options: { minSeconds: 5, maxSeconds: 30 } }],
  ['1101', { kind: 'confirm', text: 'Install firmware 2.0 now?', options: { maxSeconds: 120, defaultResponse: '0' } }],
  ['1102', { kind: 'text', text: 'Enter the code on the box', options: { maxSeconds: 60, maxLength: 8, inputType: 'N', echoType: 'P' } }],
  ['1103', { kind: 'single', text: 'When may we update?', options: { maxSeconds: 60, defaultResponse: '2' }, choices: ['Now', 'Tonight', 'Never'] }],
  ['1104', { kind: 'multiple', text: 'Which apps may we update?', options: { minSeconds: 1, maxSeconds: 90, defaultResponse: '1-3' }, choices: ['Maps', 'Mail', 'Camera'] }],
];

function messageWith(alert: AlertCommand): SyncMessage {
  return {
    header: { verDTD: '1.2', verProto: 'DM/1.2', sessionId: '1', msgId: 2, target: 'dev-1', source: 'http://fota.example/dm' },
    commands: [alert],
    final: true,
  };
}

function alertOf(message: SyncMessage): AlertCommand {
  const alert = message.commands[0];
  if (alert?.kind !== 'Alert') throw new Error('no Alert');
  return alert;
}

describe.each(PROMPTS)('UI alert %s', (code, prompt) => {
  it('is written as the alert code, an options Item, the prompt and its choices, and reads back in XML', () => {
    const alert = uiAlert(prompt, 3, 'uip_1');
    expect(alert.data).toBe(code);
    const items = alert.items.map((i) => i.data);
    expect(items[0]).toBe(encodeUiOptions(prompt.options));
    expect(items[1]).toBe(prompt.text);
    expect(items.slice(2)).toEqual(prompt.choices ?? []);
    const xml = encodeMessage(messageWith(alert), CONTENT_TYPE_XML);
    expect(readUiAlert(alertOf(decodeMessage(xml, CONTENT_TYPE_XML)))).toEqual(prompt);
  });

  it.skipIf(!wbxmlTools)('reads the same through libwbxml both ways', () => {
    const dir = tempDir();
    // Our WBXML -> wbxml2xml: libwbxml sees the alert code, the options and the prompt.
    writeFileSync(join(dir, 'ours.wbxml'), encodeMessage(messageWith(uiAlert(prompt, 3)), CONTENT_TYPE_WBXML));
    execFileSync('wbxml2xml', ['-m', '0', '-o', join(dir, 'ours.xml'), join(dir, 'ours.wbxml')], { stdio: 'ignore' });
    const xml = readFileSync(join(dir, 'ours.xml'), 'utf8');
    expect(xml).toContain(`<Data>${code}</Data>`);
    expect(xml).toContain(encodeUiOptions(prompt.options).replaceAll('&', '&amp;'));
    expect(xml).toContain(prompt.text);
    // Our XML -> xml2wbxml -> our WBXML decoder: the same prompt.
    writeFileSync(join(dir, 'ours-as.xml'), encodeMessage(messageWith(uiAlert(prompt, 3)), CONTENT_TYPE_XML));
    execFileSync('xml2wbxml', ['-o', join(dir, 'theirs.wbxml'), join(dir, 'ours-as.xml')], { stdio: 'ignore' });
    expect(readUiAlert(alertOf(decodeMessage(readFileSync(join(dir, 'theirs.wbxml')), CONTENT_TYPE_WBXML)))).toEqual(prompt);
  });
});

describe('user-interaction answers', () => {
  it.each([
    ['200', 'accepted'],
    ['304', 'rejected'],
    ['214', 'cancelled'],
    ['408', 'timeout'],
    ['406', 'unsupported'],
    ['500', 'failed'],
    ['ok', 'failed'],
  ] as const)('Status %s on a confirm alert means %s', (data, outcome) => {
    expect(uiAnswerOf('confirm', { data, items: [] }).outcome).toBe(outcome);
  });

  it('carries typed text and chosen numbers (one Item each, or a dashed list) in the Status', () => {
    expect(uiAnswerOf('text', { data: '200', items: [{ data: '4711' }] }).values).toEqual(['4711']);
    expect(uiAnswerOf('single', { data: '200', items: [{ data: '2' }] }).values).toEqual(['2']);
    expect(uiAnswerOf('multiple', { data: '200', items: [{ data: '1' }, { data: '3' }] }).values).toEqual(['1', '3']);
    expect(uiAnswerOf('multiple', { data: '200', items: [{ data: '1-3' }] }).values).toEqual(['1', '3']);
    expect(uiStatusOf('multiple', { outcome: 'accepted', values: ['1', '3'] })).toEqual({ code: 200, items: [{ data: '1' }, { data: '3' }] });
    expect(uiStatusOf('confirm', { outcome: 'rejected' })).toEqual({ code: 304, items: [] });
  });

  it('takes silence past MAXDT as the default response, else as a timeout', () => {
    const [, confirm] = PROMPTS[1] ?? [];
    if (!confirm) throw new Error('no confirm prompt');
    expect(defaultAnswer(confirm)).toEqual({ outcome: 'rejected', values: [] });
    expect(defaultAnswer({ ...confirm, options: { ...confirm.options, defaultResponse: '1' } })).toEqual({ outcome: 'accepted', values: [] });
    expect(defaultAnswer({ ...confirm, options: { maxSeconds: 10 } })).toEqual({ outcome: 'timeout', values: [] });
    expect(defaultAnswer({ kind: 'multiple', text: 'x', options: { defaultResponse: '1-3' }, choices: ['a', 'b', 'c'] }).values).toEqual(['1', '3']);
  });
});

describe('malformed user-interaction alerts', () => {
  const alert = (items: string[], code = '1101'): AlertCommand => ({ kind: 'Alert', cmdId: 1, data: code, items: items.map((data) => ({ data })) });

  it.each([
    ['MAXDT=soon', 'MAXDT=soon is not a number'],
    ['MAXDT=99999999', 'not a number of seconds'],
    ['MINDT=30&MAXDT=10', 'MINDT must not exceed MAXDT'],
    ['IT=Q', 'IT=Q is not one of'],
    ['DR=7', 'default response of a confirm alert'],
  ])('refuses options %s', (options, message) => {
    expect(() => readUiAlert(alert([options, 'Install?']))).toThrow(message);
  });

  it('refuses an alert without a prompt, an oversized prompt, and a choice alert without choices', () => {
    expect(() => readUiAlert(alert(['MAXDT=10']))).toThrow('no prompt Item');
    expect(() => readUiAlert(alert(['', 'x'.repeat(1001)]))).toThrow('1 to 1000 characters');
    expect(() => readUiAlert(alert(['', 'Pick one'], '1103'))).toThrow('lists 1 to 32 choices');
    expect(() => readUiAlert(alert(['', 'Pick', ...Array.from({ length: 33 }, (_, i) => `c${i}`)], '1104'))).toThrow('lists 1 to 32 choices');
  });

  it('ignores option names it does not know and reads other alerts as none', () => {
    expect(decodeUiOptions('MAXDT=5&X-VENDOR=1&&')).toEqual({ maxSeconds: 5 });
    expect(readUiAlert(alert(['1'], '1226'))).toBeUndefined();
    expect(() => encodeUiOptions({ defaultResponse: 'a&b' })).toThrow('must not contain');
  });
});
