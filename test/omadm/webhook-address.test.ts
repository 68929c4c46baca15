// The webhook address rule on its own: which hosts (as a URL spells them) and which
// resolved addresses it refuses, and that public ones pass.
import { describe, expect, it } from 'vitest';
import { addressCategory, hostRefusal, resolvedRefusal } from '../../src/omadm/webhook-address.ts';

describe('addressCategory', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.1.1', 'private'],
    ['::ffff:192.168.1.1', 'private'],
    ['fc00::1', 'private'],
    ['fd00:ec2::254', 'private'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['100.127.255.254', 'shared (CGNAT)'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::7f00:1', 'reserved'],
  ])('%s is %s', (address, category) => {
    expect(addressCategory(address)).toBe(category);
  });

  it.each(['8.8.8.8', '172.15.255.255', '172.32.0.1', '100.63.255.255', '100.128.0.1', '169.253.0.1', '192.169.0.1', '11.0.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])('%s is public', (address) => {
    expect(addressCategory(address)).toBeUndefined();
  });
});

describe('hostRefusal', () => {
  // Hosts as the URL parser leaves them: it already turns 2130706433, 0x7f.1 and 127.1 into 127.0.0.1.
  it.each([
    ['http://127.0.0.1/', 'loopback address'],
    ['http://2130706433/', 'loopback address'],
    ['http://0x7f.1/', 'loopback address'],
    ['http://[::1]:8080/', 'loopback address'],
    ['http://[::ffff:127.0.0.1]/', 'loopback address'],
    ['http://0/', 'unspecified address'],
    ['http://[::]/', 'unspecified address'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local address'],
    ['http://[fe80::1]/', 'link-local address'],
    ['http://10.1.2.3/', 'private address'],
    ['http://[fd00::1]/', 'private address'],
    ['http://100.100.100.200/', 'shared \\(CGNAT\\) address'],
    ['http://localhost:8080/', 'loopback name'],
    ['http://LOCALHOST./', 'loopback name'],
    ['http://hooks.localhost/', 'loopback name'],
    ['http://printer.local/', 'link-local \\(mDNS\\) name'],
    ['http://metadata.google.internal/', 'private-use name'],
    ['http://gateway/', 'single-label name'],
  ])('refuses %s', (url, kind) => {
    const refusal = hostRefusal(new URL(url).hostname);
    expect(refusal).toMatch(new RegExp(`is an? ${kind}`));
    expect(refusal).toContain('FOTA_WEBHOOK_ALLOW_PRIVATE=true');
  });

  it.each(['https://sms.example.com/push', 'http://8.8.8.8/', 'https://[2606:4700::1111]/', 'https://hooks.fleet.example./'])('lets %s through (DNS is checked at send time)', (url) => {
    expect(hostRefusal(new URL(url).hostname)).toBeUndefined();
  });
});

describe('resolvedRefusal', () => {
  it('refuses when any one address is not public, naming it', () => {
    const refusal = resolvedRefusal('hooks.example', [
      { address: '203.0.113.9', family: 4 },
      { address: '::1', family: 6 },
    ]);
    expect(refusal).toMatch(/^host hooks\.example resolves to ::1, a loopback address/);
  });

  it('accepts public addresses', () => {
    expect(resolvedRefusal('hooks.example', [{ address: '93.184.215.14', family: 4 }, { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 }])).toBeUndefined();
  });
});
