// SyncML DM 1.2 messages as typed values: what the session logic reads and writes.
// syncml.ts maps them to and from the element tree; xml.ts and wbxml.ts do the bytes.

/** MetInf fields fota uses (each encoded with xmlns="syncml:metinf"). */
export interface Meta {
  type?: string;
  format?: string;
  mark?: string;
  size?: number;
  nextNonce?: string;
  maxMsgSize?: number;
  maxObjSize?: number;
}

export interface Cred {
  meta: Meta;
  data: string;
}

export interface Chal {
  meta: Meta;
}

export interface Item {
  target?: string;
  source?: string;
  /** LocName of the Source, where present. */
  sourceName?: string;
  meta?: Meta;
  /** Text data, or the bytes of WBXML OPAQUE data. */
  data?: string | Uint8Array;
  moreData?: boolean;
}

export interface SyncHdr {
  verDTD: string;
  verProto: string;
  sessionId: string;
  msgId: number;
  /** Target LocURI: the server's URL in a client message, the device id in a server's. */
  target: string;
  source: string;
  sourceName?: string;
  respUri?: string;
  noResp?: boolean;
  cred?: Cred;
  meta?: Meta;
}

export interface StatusCommand {
  kind: 'Status';
  cmdId: number;
  msgRef: number;
  cmdRef: number;
  cmd: string;
  targetRefs: string[];
  sourceRefs: string[];
  cred?: Cred;
  chal?: Chal;
  /** The status code, e.g. "200". */
  data: string;
  items: Item[];
}

export interface ResultsCommand {
  kind: 'Results';
  cmdId: number;
  msgRef?: number;
  cmdRef: number;
  meta?: Meta;
  targetRef?: string;
  sourceRef?: string;
  items: Item[];
}

export interface AlertCommand {
  kind: 'Alert';
  cmdId: number;
  data: string;
  correlator?: string;
  items: Item[];
}

export interface ItemCommand {
  kind: 'Add' | 'Replace' | 'Delete' | 'Copy' | 'Get';
  cmdId: number;
  noResp?: boolean;
  meta?: Meta;
  items: Item[];
}

export interface ExecCommand {
  kind: 'Exec';
  cmdId: number;
  noResp?: boolean;
  meta?: Meta;
  correlator?: string;
  items: Item[];
}

export interface ContainerCommand {
  kind: 'Atomic' | 'Sequence';
  cmdId: number;
  noResp?: boolean;
  meta?: Meta;
  commands: Command[];
}

export type Command = StatusCommand | ResultsCommand | AlertCommand | ItemCommand | ExecCommand | ContainerCommand;

export interface SyncMessage {
  header: SyncHdr;
  commands: Command[];
  final: boolean;
}

export const SYNCML_NAMESPACE = 'SYNCML:SYNCML1.2';
export const METINF_NAMESPACE = 'syncml:metinf';
export const CONTENT_TYPE_XML = 'application/vnd.syncml.dm+xml';
export const CONTENT_TYPE_WBXML = 'application/vnd.syncml.dm+wbxml';
