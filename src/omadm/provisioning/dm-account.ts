// A device's OMA DM account (DM 1.2 DMAcc, `w7`): the server it calls, how each side proves
// itself, and the ./DMAcc/<x> nodes that hold it. The bootstrap documents (cp-document.ts,
// dm-bootstrap.ts) are two encodings of this one shape, and a device that reads either
// gets the same account back (PROTOCOL.md "Standard objects", "Beyond FUMO").
import { AppError } from '../../errors.ts';

/** How a side authenticates, in DMAcc words (AAuthType). */
export type AccountAuthType = 'BASIC' | 'DIGEST' | 'HMAC';

export interface DmAccount {
  /** The <x> of ./DMAcc/<x>: a node name, no "/" and no "..". */
  accountId: string;
  /** ServerID: the server's name, what the device checks the server's Cred against. */
  serverId: string;
  /** Name: a label the device may show. */
  name: string;
  /** AppAddr/<y>/Addr: the server's DM URL. */
  address: string;
  authType: AccountAuthType;
  /** CLCRED: what the device presents to the server. */
  client: { name: string; secret: string };
  /** SRVCRED: what the server presents to the device. */
  server: { name: string; secret: string };
}

/** Node names under AppAuth and AppAddr (any names do; these are fota's). */
export const CLIENT_AUTH = 'ClientSide';
export const SERVER_AUTH = 'ServerSide';
const ADDRESS_NODE = 'SrvAddr';

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A node name fota writes under ./DMAcc: refuses "/", "..", empty and odd characters. */
export function assertNodeName(name: string, what: string): void {
  if (!NODE_NAME.test(name) || name.includes('..')) throw new AppError('VALIDATION', `${what} must be 1-64 letters, digits, ".", "_" or "-" with no ".." (got ${JSON.stringify(name)})`);
}

export function accountRoot(accountId: string): string {
  assertNodeName(accountId, 'the DM account id');
  return `./DMAcc/${accountId}`;
}

/** The AppAuth leaves a credential rotation replaces. */
export function appAuthPaths(accountId: string): { clientName: string; clientSecret: string; serverSecret: string } {
  const root = accountRoot(accountId);
  return {
    clientName: `${root}/AppAuth/${CLIENT_AUTH}/AAuthName`,
    clientSecret: `${root}/AppAuth/${CLIENT_AUTH}/AAuthSecret`,
    serverSecret: `${root}/AppAuth/${SERVER_AUTH}/AAuthSecret`,
  };
}

export interface AccountNode {
  uri: string;
  /** Interior nodes have format node and no data. */
  format: 'node' | 'chr';
  data?: string;
}

/** The ./DMAcc/<x> subtree, interior nodes before their children (the order an Add needs). */
export function accountNodes(account: DmAccount): AccountNode[] {
  const root = accountRoot(account.accountId);
  const node = (uri: string): AccountNode => ({ uri, format: 'node' });
  const leaf = (uri: string, data: string): AccountNode => ({ uri, format: 'chr', data });
  const side = (name: string, level: 'CLCRED' | 'SRVCRED', cred: { name: string; secret: string }) => [
    node(`${root}/AppAuth/${name}`),
    leaf(`${root}/AppAuth/${name}/AAuthLevel`, level),
    leaf(`${root}/AppAuth/${name}/AAuthType`, account.authType),
    leaf(`${root}/AppAuth/${name}/AAuthName`, cred.name),
    leaf(`${root}/AppAuth/${name}/AAuthSecret`, cred.secret),
  ];
  return [
    node(root),
    leaf(`${root}/AppID`, 'w7'),
    leaf(`${root}/ServerID`, account.serverId),
    leaf(`${root}/Name`, account.name),
    leaf(`${root}/AAuthPref`, account.authType),
    node(`${root}/AppAddr`),
    node(`${root}/AppAddr/${ADDRESS_NODE}`),
    leaf(`${root}/AppAddr/${ADDRESS_NODE}/Addr`, account.address),
    leaf(`${root}/AppAddr/${ADDRESS_NODE}/AddrType`, 'URI'),
    node(`${root}/AppAuth`),
    ...side(CLIENT_AUTH, 'CLCRED', account.client),
    ...side(SERVER_AUTH, 'SRVCRED', account.server),
  ];
}

/**
 * The account held in a flat map of DMAcc leaves (a device's tree, or a decoded DM
 * bootstrap): the first ./DMAcc/<x> with AppID w7 and a client credential. Undefined when
 * there is none; refuses a half-written one by name.
 */
export function accountFromLeaves(leaves: ReadonlyMap<string, string> | Record<string, string>): DmAccount | undefined {
  const map = leaves instanceof Map ? leaves : new Map(Object.entries(leaves));
  const ids = new Set<string>();
  for (const uri of map.keys()) {
    const match = /^\.\/DMAcc\/([^/]+)\//.exec(uri);
    if (match?.[1]) ids.add(match[1]);
  }
  for (const accountId of ids) {
    const root = `./DMAcc/${accountId}`;
    if (map.get(`${root}/AppID`) !== 'w7') continue;
    const sides = new Map<string, { name: string; secret: string; type?: string }>();
    let address: string | undefined;
    for (const [uri, value] of map) {
      const auth = new RegExp(`^${escape(root)}/AppAuth/([^/]+)/AAuthLevel$`).exec(uri);
      if (auth?.[1]) {
        const base = `${root}/AppAuth/${auth[1]}`;
        const type = map.get(`${base}/AAuthType`);
        sides.set(value, { name: map.get(`${base}/AAuthName`) ?? '', secret: map.get(`${base}/AAuthSecret`) ?? '', ...(type ? { type } : {}) });
      }
      if (address === undefined && new RegExp(`^${escape(root)}/AppAddr/[^/]+/Addr$`).test(uri)) address = value;
    }
    const client = sides.get('CLCRED');
    if (!client) continue;
    if (!address) throw new AppError('VALIDATION', `${root} has no AppAddr/<x>/Addr: the device does not know where its server is`);
    if (client.name === '' || client.secret === '') throw new AppError('VALIDATION', `${root} has a client credential without AAuthName or AAuthSecret`);
    const authType = authTypeOf(map.get(`${root}/AAuthPref`) ?? client.type ?? 'DIGEST');
    const server = sides.get('SRVCRED') ?? { name: '', secret: '' };
    return { accountId, serverId: map.get(`${root}/ServerID`) ?? '', name: map.get(`${root}/Name`) ?? '', address, authType, client: { name: client.name, secret: client.secret }, server: { name: server.name, secret: server.secret } };
  }
  return undefined;
}

/** AAuthType as the documents may spell it (CP says HTTP-DIGEST too). */
export function authTypeOf(text: string): AccountAuthType {
  const t = text.trim().toUpperCase().replace(/^HTTP-/, '');
  if (t === 'BASIC' || t === 'DIGEST' || t === 'HMAC') return t;
  throw new AppError('VALIDATION', `unknown AAuthType ${JSON.stringify(text.slice(0, 32))} (BASIC, DIGEST or HMAC)`);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
