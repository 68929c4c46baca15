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

export class DmTree {
  /**
   * @param fixed read-only leaves, computed when asked (FwV follows the installed image)
   * @param values leaves the server set; the caller persists this object
   */
  constructor(
    private readonly fixed: () => Record<string, NodeValue>,
    readonly values: Record<string, string>,
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

  /** Replace or Add of a leaf: 200, or 405 for nodes the server may not change. */
  set(uri: string, data: string): 200 | 405 {
    const path = normalize(uri);
    if (FUMO_WRITABLE.has(path)) {
      this.values[path] = data;
      return 200;
    }
    if (READ_ONLY_ROOTS.some((root) => path === root || path.startsWith(`${root}/`))) return 405;
    // An existing interior node cannot become a leaf.
    if (this.get(path).status === 200 && !(path in this.values)) return 405;
    this.values[path] = data;
    return 200;
  }

  delete(uri: string): 200 | 404 | 405 {
    const path = normalize(uri);
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
