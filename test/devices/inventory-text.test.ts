// The stored inventory with a message's nodes set, edited in its text: the same tree as
// parsing it, assigning the nodes and writing it again, whatever the text holds.
import { describe, expect, it } from 'vitest';
import type { InventoryTree } from '../../src/devices/devices.ts';
import { inventoryWith } from '../../src/devices/inventory-text.ts';

const NOW = 1_765_000_000_000;

/** The inventory as the persist wrote it before: parsed, assigned, written whole. */
function reparsed(stored: string, nodes: Array<[string, string]>, now: number): string {
  const tree = JSON.parse(stored) as InventoryTree;
  for (const [uri, value] of nodes) tree[uri] = { value, at: now };
  return JSON.stringify(tree);
}

const stored = reparsed('{}', [['./DevInfo/Man', 'Acme'], ['./DevInfo/Mod', 'X100'], ['./DevDetail/FwV', '1.0.0']], NOW - 60_000);

describe('a stored inventory with reported nodes set', () => {
  it.each<[string, string, Array<[string, string]>]>([
    ['starts an empty inventory', '{}', [['./DevInfo/Man', 'Acme'], ['./DevInfo/Lang', 'en-US']]],
    ['replaces a node where it stands and appends a new one', stored, [['./DevDetail/FwV', '1.1.0'], ['./DevDetail/SwV', '2.0']]],
    ['replaces every node', stored, [['./DevInfo/Mod', 'X200'], ['./DevInfo/Man', 'Acme Corp'], ['./DevDetail/FwV', '1.2.0']]],
    ['writes values that need escaping', stored, [['./DevInfo/Man', 'A "quoted" \\ name\n\u0001 \u00e9 \ud83d\ude00'], ['./DevDetail/SwV', '},{"x":1']]],
    ['reads a stored value that holds quotes, braces and backslashes', reparsed(stored, [['./DevInfo/Man', '\\"}{,:\\\\']], NOW - 1), [['./DevInfo/Mod', 'X300'], ['./DevInfo/Man', 'plain']]],
    ['takes the last of a node given twice', stored, [['./DevInfo/Man', 'first'], ['./DevInfo/Man', 'second']]],
    ['reads a tree not written compactly (another writer)', JSON.stringify(JSON.parse(stored), null, 2), [['./DevInfo/Man', 'Acme'], ['./DevInfo/Lang', 'fr']]],
    ['reads a tree whose node is there twice (the parse keeps the last)', '{"./DevInfo/Man":{"value":"a","at":1},"./DevInfo/Man":{"value":"b","at":2}}', [['./DevInfo/Mod', 'X']]],
  ])('%s', (_name, text, nodes) => {
    const edited = inventoryWith(text, nodes, NOW);
    expect(JSON.parse(edited)).toEqual(JSON.parse(reparsed(text, nodes, NOW)));
    // Node order too: kept where they stood, new ones last.
    expect(Object.keys(JSON.parse(edited) as InventoryTree)).toEqual(Object.keys(JSON.parse(reparsed(text, nodes, NOW)) as InventoryTree));
  });

  it('writes what JSON.stringify writes for a compact stored tree', () => {
    const nodes: Array<[string, string]> = [['./DevDetail/FwV', '1.1.0'], ['./DevDetail/HwV', 'rev-b']];
    expect(inventoryWith(stored, nodes, NOW)).toBe(reparsed(stored, nodes, NOW));
  });
});
