// Where a device's Package 0 webhook may point. The URL comes from an API caller, but the
// server makes the request from inside its own network: without this rule a registered
// http://169.254.169.254/... or http://127.0.0.1:6379/ has the server POST to its cloud
// metadata service or to a service that trusts localhost (server-side request forgery).
// Hosts in loopback, unspecified, link-local, private, shared (CGNAT), multicast and
// reserved ranges (IPv4-mapped IPv6 forms included) and names that only resolve locally
// are refused, unless the server runs with FOTA_WEBHOOK_ALLOW_PRIVATE=true (a lab, or a
// fleet simulator on the server's machine). The rule is checked on the URL at
// registration, for a clear answer early, and again on every address the host resolves
// to when a notification is sent, since a DNS answer can change (rebinding).
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { AppError } from '../errors.ts';

/** The server setting that lifts the rule; named in every refusal. */
export const ALLOW_PRIVATE_WEBHOOKS_SETTING = 'FOTA_WEBHOOK_ALLOW_PRIVATE';
/** Put in the refusal's error body, so a client (fota simulate) can recognise it. */
export const WEBHOOK_ADDRESS_RULE = 'webhook-address';

export type AddressCategory = 'loopback' | 'unspecified' | 'link-local' | 'private' | 'shared (CGNAT)' | 'multicast' | 'reserved';

type Subnet = readonly [network: string, prefix: number];

// In order: the first list an address is in names it (::1 is loopback, not reserved).
const RANGES: ReadonlyArray<readonly [AddressCategory, readonly Subnet[]]> = [
  ['loopback', [['127.0.0.0', 8], ['::1', 128]]],
  // Connecting to 0.0.0.0 (or ::) reaches this machine on Linux; 0/8 is "this network".
  ['unspecified', [['0.0.0.0', 8], ['::', 128]]],
  // 169.254.169.254 is the metadata service of most clouds.
  ['link-local', [['169.254.0.0', 16], ['fe80::', 10]]],
  // fec0::/10 is the deprecated site-local range, private in practice.
  ['private', [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['fc00::', 7], ['fec0::', 10]]],
  ['shared (CGNAT)', [['100.64.0.0', 10]]],
  ['multicast', [['224.0.0.0', 4], ['ff00::', 8]]],
  // 240/4 holds the broadcast address; ::/96 the deprecated IPv4-compatible forms.
  ['reserved', [['240.0.0.0', 4], ['::', 96]]],
];

// BlockList matches an IPv4-mapped IPv6 address (::ffff:7f00:1) against the IPv4 rules.
const LISTS: ReadonlyArray<readonly [AddressCategory, BlockList]> = RANGES.map(([category, subnets]) => {
  const list = new BlockList();
  for (const [network, prefix] of subnets) list.addSubnet(network, prefix, isIP(network) === 6 ? 'ipv6' : 'ipv4');
  return [category, list] as const;
});

/** The range an IP address is in, or undefined for a public address. */
export function addressCategory(address: string): AddressCategory | undefined {
  const family = isIP(address);
  if (family === 0) throw new AppError('VALIDATION', `${address} is not an IP address`);
  const type = family === 6 ? 'ipv6' : 'ipv4';
  return LISTS.find(([, list]) => list.check(address, type))?.[0];
}

/** Names that never leave the server's own machine or network, whatever DNS says. */
function localNameKind(name: string): string | undefined {
  if (name === 'localhost' || name.endsWith('.localhost') || ['localhost.localdomain', 'ip6-localhost', 'ip6-loopback'].includes(name)) return 'a loopback name';
  if (name.endsWith('.local')) return 'a link-local (mDNS) name';
  if (name.endsWith('.internal') || name.endsWith('.home.arpa')) return 'a private-use name';
  // A single label is completed by the server's search domains: a name on its own network.
  if (!name.includes('.')) return "a single-label name, resolved on the server's own network";
  return undefined;
}

/** A URL's hostname as an address or a name: IPv6 brackets and a trailing root dot removed. */
export function bareHost(hostname: string): string {
  const unbracketed = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return unbracketed.replace(/\.+$/, '').toLowerCase();
}

/** Why the rule refuses this URL's host as written (before any DNS), or undefined. */
export function hostRefusal(hostname: string): string | undefined {
  const host = bareHost(hostname);
  const category = isIP(host) ? addressCategory(host) : undefined;
  const kind = category ? `${article(category)} ${category} address` : isIP(host) ? undefined : localNameKind(host);
  return kind ? refusalText(`host ${host} is ${kind}`) : undefined;
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to every address it has. A parameter of the notifier, so tests can stand in for DNS. */
export type ResolveHost = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolve: ResolveHost = (hostname) => lookup(hostname, { all: true, verbatim: true });

/** Why the rule refuses a host that resolved to these addresses (any one refused refuses all), or undefined. */
export function resolvedRefusal(host: string, addresses: readonly ResolvedAddress[]): string | undefined {
  for (const { address } of addresses) {
    const category = addressCategory(address);
    if (category) return refusalText(`host ${host} resolves to ${address}, ${article(category)} ${category} address`);
  }
  return undefined;
}

/** Registration: refuses a device webhook whose host the rule refuses, as a 400 naming the rule and the setting. */
export function assertPublicWebhookHost(url: URL): void {
  const refusal = hostRefusal(url.hostname);
  if (refusal) throw new AppError('VALIDATION', `webhook URL refused: ${refusal}`, { details: { rule: WEBHOOK_ADDRESS_RULE, setting: ALLOW_PRIVATE_WEBHOOKS_SETTING } });
}

function article(category: AddressCategory): string {
  return /^[aeiou]/.test(category) ? 'an' : 'a';
}

function refusalText(what: string): string {
  return `${what}; webhooks (device and operator) may not point at loopback, link-local, private, CGNAT or other non-public addresses unless the server runs with ${ALLOW_PRIVATE_WEBHOOKS_SETTING}=true`;
}
