// A stand-in for DNS, given to the webhook notifier as its lookup: there is no DNS server
// to run in tests, and the address rule needs names that resolve to chosen addresses.
import type { ResolvedAddress, ResolveHost } from '../../src/omadm/webhook-address.ts';

/** Answers each name with its lists of addresses in turn (the last one repeats); records who asked. */
export function fakeDns(answers: Record<string, string[][]>): ResolveHost & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (hostname: string): Promise<ResolvedAddress[]> => {
    const turn = asked.filter((h) => h === hostname).length;
    asked.push(hostname);
    const list = answers[hostname];
    const addresses = list?.[Math.min(turn, list.length - 1)];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { asked });
}
