// The pure rules of configuration profiles: which node paths a profile may name (hostile
// ones refused, by example and for arbitrary input), the commands an application sends and
// in what order, and how the device's Statuses become its verdict.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_PATH_LENGTH, nodePathProblem } from '../../src/profiles/paths.ts';
import { commandsOf } from '../../src/profiles/queue.ts';
import type { ProfileOperation } from '../../src/profiles/schemas.ts';
import { verdictOf } from '../../src/profiles/settle.ts';

describe('node paths', () => {
  it.each(['./DMAcc/fota/AppAddr/1/Addr', './Vendor/APN-1/Name_x', './A', './DevDetail/Ext/IMSI'])('accepts %s', (path) => {
    expect(nodePathProblem(path)).toBeUndefined();
  });

  it.each(['', '.', './', '/DMAcc', 'DMAcc/x', '../x', './..', './a/..', './a/../b', './a/./b', './a//b', './a/', './a b', './a\tb', './a\nb', './a?b', './a#b', './a*', './a\\b', './a"b', "./a'b", './a<b>', './/a'])('refuses %j', (path) => {
    expect(nodePathProblem(path)).toBeDefined();
  });

  it('never accepts a path with a "." or ".." segment, an empty segment, or over the length limit', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom('.', '..', '', 'a', 'DMAcc', 'x y'), fc.string({ maxLength: 70 })), { minLength: 1, maxLength: 20 }), (segments) => {
        const path = `./${segments.join('/')}`;
        const accepted = nodePathProblem(path) === undefined;
        if (accepted) {
          expect(segments.some((s) => s === '.' || s === '..' || s === '')).toBe(false);
          expect(path.length).toBeLessThanOrEqual(MAX_PATH_LENGTH);
          expect(/[\s\u0000-\u001f]/.test(path)).toBe(false);
        }
      }),
    );
  });
});

describe('an application\'s commands', () => {
  const ops: ProfileOperation[] = [
    { command: 'Replace', uri: './A/Addr', data: 'x', readFirst: true },
    { command: 'Add', uri: './A/New', data: '1', format: 'int' },
    { command: 'Delete', uri: './A/Old' },
    { command: 'Exec', uri: './A/Reconnect' },
  ];

  it('reads old values first where asked, runs the operations in order, then reads back every node written', () => {
    expect(commandsOf(ops, 'device').map((c) => `${c.role} ${c.command} ${c.uri}`)).toEqual([
      'readFirst Get ./A/Addr',
      'operation Replace ./A/Addr',
      'operation Add ./A/New',
      'operation Delete ./A/Old',
      'operation Exec ./A/Reconnect',
      'readBack Get ./A/Addr',
      'readBack Get ./A/New',
    ]);
  });

  it('a drift check only reads back', () => {
    expect(commandsOf(ops, 'drift').map((c) => c.command)).toEqual(['Get', 'Get']);
  });
});

describe('the verdict', () => {
  const op = (status: number | null) => ({ command: 'Replace', uri: './A', status, role: 'operation' as const });
  const get = (status: number) => ({ command: 'Get', uri: './A', status, role: 'readFirst' as const });

  it.each([
    ['every Status 2xx', [get(404), op(200), op(204)], { state: 'succeeded', failureCode: null }],
    ['the first failing Status', [op(200), op(425), op(500)], { state: 'failed', failureCode: 425 }],
    ['a Status that is no code: 500', [op(null)], { state: 'failed', failureCode: 500 }],
    ['a 1xx or 3xx is no success', [op(304)], { state: 'failed', failureCode: 304 }],
  ])('%s', (_what, outcomes, verdict) => {
    expect(verdictOf(outcomes)).toEqual(verdict);
  });
});
