// What a SyncML Status code means (OMA DM 1.2 representation protocol): one vocabulary
// for the console, the CLI and the API's query results.
const STATUS_TEXT: ReadonlyMap<number, string> = new Map([
  [200, 'OK'],
  [202, 'accepted for processing'],
  [212, 'authenticated'],
  [213, 'chunk buffered'],
  [214, 'cancelled'],
  [215, 'not executed'],
  [216, 'atomic rolled back'],
  [304, 'not modified'],
  [400, 'bad request'],
  [401, 'invalid credentials'],
  [403, 'forbidden'],
  [404, 'not found'],
  [405, 'command not allowed'],
  [406, 'optional feature not supported'],
  [407, 'credentials missing'],
  [408, 'request timeout'],
  [412, 'incomplete command'],
  [413, 'request entity too large'],
  [414, 'URI too long'],
  [415, 'unsupported media type or format'],
  [416, 'requested size too big'],
  [418, 'already exists'],
  [420, 'device full'],
  [424, 'size mismatch'],
  [425, 'permission denied'],
  [500, 'command failed'],
  [501, 'command not implemented'],
  [506, 'processing error'],
  [507, 'atomic failed'],
  [510, 'data store failure'],
]);

export function describeDmStatus(code: number): string {
  return STATUS_TEXT.get(code) ?? (code >= 200 && code < 300 ? 'success' : code >= 500 ? 'command failed' : 'refused');
}
