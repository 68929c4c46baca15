// The agent's DM tree: ./DevInfo and ./DevDetail (read-only, from the agent's config and
// its installed image), the FUMO object ./FUMO/fota (PkgURL leaves the server sets, State
// the agent sets), and any vendor leaves the server adds. Get on an interior node lists its
// children (Format node), as OMA DM 1.2 says.

export const FUMO_NODE = './FUMO/fota';

/** FUMO leaves the server may set (a Replace elsewhere under ./FUMO is refused). */
const FUMO_WRITABLE = new Set([`${FUMO_NODE}/PkgName`, `${FUMO_NODE}/PkgVersion`, `${FUMO_NODE}/Download/PkgURL`, `${FUMO_NODE}/DownloadAndUpdate/PkgURL`]);
const READ_ONLY_ROOTS = ['./DevInfo', './DevDetail', './FUMO'];

export interface NodeValue {
  data: string;
  format: 'chr' | 'int' | 'bool' | 'node';
}

export type TreeAnswer = { status: 200; value: NodeValue } | { status: 404 | 405 };

/** "Permission denied": what a node that refuses writes answers (a locked setting; a simulated fault). */
export const WRITE_REFUSED = 425;

export class DmTree {
  /**
   * @param fixed read-only leaves, computed when asked (FwV follows the installed image)
   * @param values leaves the server set; the caller persists this object
   * @param refuseWrites nodes (and the subtrees under them; "." for all) whose Add, Replace
   *   and Delete answer 425, the FUMO leaves excepted: a device whose settings are locked
   */
  constructor(
    private readonly fixed: () => Record<string, NodeValue>,
    readonly values: Record<string, string>,
    private readonly refuseWrites: readonly string[] = [],
  ) {
    for (const uri of FUMO_WRITABLE) this.values[uri] ??= '';
  }

  private leaves(): Map<string, NodeValue> {
    const all = new Map<string, NodeValue>();
    for (const [uri, data] of Object.entries(this.values)) all.set(uri, { data, format: 'chr' });
    for (const [uri, value] of Object.entries(this.fixed())) all.set(uri, value);
    return all;
  }

  get(uri: string): TreeAnswer {
    const path = normalize(uri);
    const leaves = this.leaves();
    const leaf = leaves.get(path);
    if (leaf) return { status: 200, value: leaf };
    const children = new Set<string>();
    for (const known of leaves.keys()) {
      if (known.startsWith(`${path}/`)) children.add(known.slice(path.length + 1).split('/')[0] ?? '');
    }
    if (path === '.') children.delete('');
    if (children.size === 0) return { status: 404 };
    return { status: 200, value: { data: [...children].join('/'), format: 'node' } };
  }

  has(uri: string): boolean {
    return this.get(uri).status === 200;
  }

  private refuses(path: string): boolean {
    return this.refuseWrites.some((root) => {
      const r = normalize(root);
      return r === '.' || path === r || path.startsWith(`${r}/`);
    });
  }

  /** Replace or Add of a leaf: 200, or 405 for nodes the server may not change (425 for locked ones). */
  set(uri: string, data: string): 200 | 405 | typeof WRITE_REFUSED {
    const path = normalize(uri);
    if (FUMO_WRITABLE.has(path)) {
      this.values[path] = data;
      return 200;
    }
    if (this.refuses(path)) return WRITE_REFUSED;
    if (READ_ONLY_ROOTS.some((root) => path === root || path.startsWith(`${root}/`))) return 405;
    // An existing interior node cannot become a leaf.
    if (this.get(path).status === 200 && !(path in this.values)) return 405;
    this.values[path] = data;
    return 200;
  }

  delete(uri: string): 200 | 404 | 405 | typeof WRITE_REFUSED {
    const path = normalize(uri);
    if (this.refuses(path)) return WRITE_REFUSED;
    if (READ_ONLY_ROOTS.some((root) => path === root || path.startsWith(`${root}/`))) return 405;
    const doomed = Object.keys(this.values).filter((known) => known === path || known.startsWith(`${path}/`));
    if (doomed.length === 0) return 404;
    for (const known of doomed) delete this.values[known];
    return 200;
  }
}

/** "./A/B/", "A/B" and "./A/B" name the same node. */
export function normalize(uri: string): string {
  const trimmed = uri.trim().replace(/\/+$/, '');
  if (trimmed === '' || trimmed === '.') return '.';
  return trimmed.startsWith('./') ? trimmed : `./${trimmed.replace(/^\/+/, '')}`;
}
