import { describe, expect, it } from 'vitest';
import { chooseRange, parseRange, type RangeChoice } from '../../src/download/range.ts';

const size = 1000;
const etag = '"0123abcd"';
const whole: RangeChoice = { kind: 'whole' };
const unsatisfiable: RangeChoice = { kind: 'unsatisfiable' };
const part = (start: number, end: number): RangeChoice => ({ kind: 'partial', range: { start, end } });

describe('parseRange', () => {
  it.each<[string, RangeChoice]>([
    ['bytes=0-99', part(0, 99)],
    ['bytes=100-', part(100, 999)],
    ['bytes=-100', part(900, 999)],
    ['bytes=999-999', part(999, 999)],
    ['bytes=-1', part(999, 999)],
    ['bytes=0-0', part(0, 0)],
    ['bytes=500-5000', part(500, 999)],
    ['bytes=-5000', part(0, 999)],
    ['bytes=0-99999999999999999999999999', part(0, 999)],
    ['BYTES=1-2', part(1, 2)],
    ['bytes= 1-2 ,', part(1, 2)],
    ['bytes=1000-', unsatisfiable],
    ['bytes=1000-2000', unsatisfiable],
    ['bytes=99999999999999999999999999-', unsatisfiable],
    ['bytes=-0', unsatisfiable],
    ['bytes=0-1,5-6', whole],
    ['bytes=0-1, 2000-3000', whole],
    ['bytes=5-3', whole],
    ['bytes=-', whole],
    ['bytes=', whole],
    ['bytes=a-b', whole],
    ['bytes=1.5-2', whole],
    ['bytes=+1-2', whole],
    ['bytes 0-1', whole],
    ['items=0-1', whole],
    ['bytes=0-1;x', whole],
  ])('%s -> %o', (header, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });

  it('finds no satisfiable range in an empty file', () => {
    expect(parseRange('bytes=-5', 0)).toEqual(unsatisfiable);
    expect(parseRange('bytes=0-', 0)).toEqual(unsatisfiable);
  });
});

describe('chooseRange', () => {
  it('honours Range on GET only', () => {
    expect(chooseRange({ method: 'GET', range: 'bytes=0-9' }, size, etag)).toEqual(part(0, 9));
    expect(chooseRange({ method: 'HEAD', range: 'bytes=0-9' }, size, etag)).toEqual(whole);
    expect(chooseRange({ method: 'GET' }, size, etag)).toEqual(whole);
  });

  it.each<[string, RangeChoice]>([
    [etag, part(0, 9)],
    [` ${etag} `, part(0, 9)],
    [`W/${etag}`, whole],
    ['"ffff"', whole],
    ['Wed, 21 Oct 2015 07:28:00 GMT', whole],
    ['', whole],
  ])('with If-Range %j gives %o', (ifRange, expected) => {
    expect(chooseRange({ method: 'GET', range: 'bytes=0-9', ifRange }, size, etag)).toEqual(expected);
  });

  it('ignores If-Range without Range', () => {
    expect(chooseRange({ method: 'GET', ifRange: etag }, size, etag)).toEqual(whole);
  });
});
