// What a DM session row keeps of the commands awaiting their Status: written compact
// (awaitingText), read back whole, and rows a server before this one wrote (a command's
// fields all named) read the same (a server upgraded in the middle of a session).
import { describe, expect, it } from 'vitest';
import { type AwaitedCommand, awaitingOf, awaitingText } from '../../src/dm/session/state.ts';

const inventory: AwaitedCommand = { kind: 'Get', uri: './DevDetail/FwV', purpose: 'inventory', msgId: 2, cmdId: 4 };
const operation: AwaitedCommand = { kind: 'Get', uri: './DevInfo/Lang', opId: 'op_1', purpose: 'operation', msgId: 2, cmdId: 7 };
const prompt: AwaitedCommand = {
  kind: 'Alert',
  uri: '',
  purpose: 'fumo',
  deploymentId: 'dep_1',
  promptId: 'prm_1',
  ui: { kind: 'confirm', text: 'Update now? "yes", [no]', options: { maxSeconds: 30, defaultResponse: '0' } },
  resultsSeen: true,
  msgId: 3,
  cmdId: 9,
};

describe('awaited commands in the session row', () => {
  it('come back as they were kept, whatever fields they carry', () => {
    const commands = [inventory, operation, prompt];
    expect(awaitingOf(awaitingText(commands))).toEqual(commands);
    expect(awaitingOf(awaitingText([]))).toEqual([]);
    // Only the five positional fields (a session's inventory Gets): read without the schema, the same.
    const gets = [inventory, { ...inventory, uri: './DevDetail/SwV', cmdId: 5 }];
    expect(awaitingOf(awaitingText(gets))).toEqual(gets);
  });

  it('take less than half the bytes of their fields named', () => {
    const commands = [inventory, { ...inventory, uri: './DevDetail/SwV', cmdId: 5 }, { ...inventory, uri: './DevDetail/HwV', cmdId: 6 }, operation];
    expect(awaitingText(commands).length).toBeLessThan(JSON.stringify(commands).length * 0.6);
  });

  it('are read from a row a server before this one wrote, and from a row that mixes both', () => {
    const before = [operation, prompt];
    expect(awaitingOf(JSON.stringify(before))).toEqual(before);
    const mixed = `[${JSON.stringify(operation)},${awaitingText([prompt]).slice(1, -1)}]`;
    expect(awaitingOf(mixed)).toEqual(before);
  });

  it('refuse a stored command that is not one', () => {
    expect(() => awaitingOf('[[2,4,"Sync","./x","inventory"]]')).toThrow();
    expect(() => awaitingOf('[{"kind":"Get"}]')).toThrow();
    for (const bad of ['[[2,4,"Get","./x","billing"]]', '[[2.5,4,"Get","./x","inventory"]]', '[[2,"4","Get","./x","inventory"]]', '[[2,4,"Get",7,"inventory"]]', '[[2,4,"Get","./x"]]']) {
      expect(() => awaitingOf(bad), bad).toThrow();
    }
  });
});
