// Which requests the server answers as downloads on Node's request (download/node.ts)
// and which it leaves to the Hono app: the same URLs its /dl/:token route matches.
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { downloadTokenOf } from '../../src/download/node.ts';

const request = (method: string, url: string) => ({ method, url, headers: {} }) as unknown as IncomingMessage;

describe('downloadTokenOf', () => {
  it('takes GET and HEAD of /dl/<token>, with or without a query or a raw fragment', () => {
    expect(downloadTokenOf(request('GET', '/dl/abc.DEF_-1'))).toBe('abc.DEF_-1');
    expect(downloadTokenOf(request('HEAD', '/dl/abc'))).toBe('abc');
    expect(downloadTokenOf(request('GET', '/dl/abc?x=1'))).toBe('abc');
    expect(downloadTokenOf(request('GET', '/dl/abc#frag'))).toBe('abc');
    expect(downloadTokenOf(request('GET', '/dl/a%62c'))).toBe('abc');
  });

  it('leaves every other method, path and malformed segment to the app', () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) expect(downloadTokenOf(request(method, '/dl/abc'))).toBeUndefined();
    for (const url of ['/dl/', '/dl', '/dl?x', '/dl/a/b', '/dl/abc/', '/dlx/abc', '//dl/abc', '/DL/abc', '/dl/%E0%A4%A', '/dl/%', '', '/dl/?x=1', '/dl/#f']) {
      expect(downloadTokenOf(request('GET', url)), url).toBeUndefined();
    }
    expect(downloadTokenOf(request('GET', `/dl/${'%'.repeat(20_000)}`))).toBeUndefined();
  });
});
