// The WBXML codec: exact bytes, agreement with libwbxml (Debian's xml2wbxml/wbxml2xml) on
// the protocol samples and on random trees, round-trip properties, and hostile input.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, element, isElement, type Page, type SyncContent, type SyncElement } from '../../src/omadm/codec/element.ts';
import { CODE_PAGES, decodeWbxml, encodeWbxml } from '../../src/omadm/codec/wbxml.ts';
import { AppError } from '../../src/errors.ts';
import { hasTool, SYNCML_SAMPLES, tempDir } from '../support/harness.ts';
import { comparable, treeToXml, xmlToTree } from '../support/wbxml-xml.ts';

const SAMPLES_DIR = SYNCML_SAMPLES;
const SAMPLES = existsSync(SAMPLES_DIR) ? readdirSync(SAMPLES_DIR).filter((name) => name.endsWith('.xml')).sort() : [];
const sampleXml = (name: string): string => readFileSync(join(SAMPLES_DIR, name), 'utf8');

const metinf = (name: string, children: SyncContent[] = []): SyncElement => element(name, children, 'metinf');
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Bytes from numbers and strings (strings as UTF-8, without terminator). */
function bytes(...parts: (number | string | readonly number[] | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === 'number') out.push(part);
    else if (typeof part === 'string') out.push(...utf8(part));
    else out.push(...part);
  }
  return new Uint8Array(out);
}

const HEADER = [0x02, 0xa4, 0x01, 0x6a, 0x00];
/** A header with a string table. */
const headerWithTable = (table: string): number[] => [0x03, 0xa4, 0x01, 0x6a, utf8(table).length, ...utf8(table)];

function decodeError(input: Uint8Array, limits = DEFAULT_LIMITS): AppError {
  try {
    decodeWbxml(input, limits);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('decoding succeeded');
}

/** Debian's libwbxml tools: under CI they must be there; elsewhere their tests are skipped, saying what to install. */
const libwbxml = hasTool('xml2wbxml', 'libwbxml2-utils') && hasTool('wbxml2xml', 'libwbxml2-utils');

function xml2wbxml(dir: string, xml: string, flags: string[] = []): Uint8Array {
  const input = join(dir, `in-${flags.join('')}.xml`);
  const output = join(dir, `out-${flags.join('')}.wbxml`);
  writeFileSync(input, xml);
  execFileSync('xml2wbxml', [...flags, '-o', output, input], { stdio: 'pipe' });
  return readFileSync(output);
}

function wbxml2xml(dir: string, wbxml: Uint8Array): string {
  const input = join(dir, 'in.wbxml');
  const output = join(dir, 'out.xml');
  writeFileSync(input, wbxml);
  execFileSync('wbxml2xml', ['-m', '0', '-o', output, input], { stdio: 'pipe' });
  return readFileSync(output, 'utf8');
}

describe('encodeWbxml', () => {
  it('writes the SyncML 1.2 header: version, public id A4 01, UTF-8, empty string table', () => {
    expect([...encodeWbxml(element('SyncML')).subarray(0, 5)]).toEqual(HEADER);
    expect([...encodeWbxml(element('SyncML'), { version: 0x03 }).subarray(0, 5)]).toEqual([0x03, 0xa4, 0x01, 0x6a, 0x00]);
  });

  it('switches to the MetInf page right before a MetInf tag and back before the next SyncML tag', () => {
    const tree = element('SyncML', [
      element('SyncHdr', [element('Meta', [metinf('MaxMsgSize', ['16384'])]), element('MsgID', ['1'])]),
    ]);
    expect([...encodeWbxml(tree)]).toEqual([
      ...HEADER,
      0x6d, 0x6c, 0x5a,
      0x00, 0x01, 0x4c, 0x03, ...utf8('16384'), 0x00, 0x01, // MaxMsgSize on page 1
      0x01, // END of Meta: END needs no page switch
      0x00, 0x00, 0x5b, 0x03, 0x31, 0x00, 0x01,
      0x01, 0x01,
    ]);
  });

  it('sets the content bit only on elements with content, and writes bytes as OPAQUE', () => {
    const tree = element('SyncML', [element('Final'), element('Data', [new Uint8Array(200).fill(7)])]);
    expect([...encodeWbxml(tree)]).toEqual([...HEADER, 0x6d, 0x12, 0x4f, 0xc3, 0x81, 0x48, ...new Uint8Array(200).fill(7), 0x01, 0x01]);
  });

  it('never writes whitespace-only text between elements, but keeps it as the whole content', () => {
    const tree = element('SyncML', ['\n  ', element('Data', ['  ']), ' \t\r\n', element('Final'), '']);
    expect([...encodeWbxml(tree)]).toEqual([...HEADER, 0x6d, 0x4f, 0x03, 0x20, 0x20, 0x00, 0x01, 0x12, 0x01]);
  });

  it('writes text containing NUL as OPAQUE, since STR_I would end at the NUL', () => {
    const tree = element('Data', ['a\0b']);
    expect([...encodeWbxml(tree)]).toEqual([...HEADER, 0x4f, 0xc3, 0x03, 0x61, 0x00, 0x62, 0x01]);
    expect(decodeWbxml(encodeWbxml(tree))).toEqual(element('Data', [utf8('a\0b')]));
  });

  it('refuses an element that is on no code page, naming it', () => {
    expect(() => encodeWbxml(element('SyncML', [element('DevInf')]))).toThrow(/<DevInf>/);
    expect(() => encodeWbxml(element('Foo'))).toThrow(AppError);
  });

  it('refuses an element placed on the wrong page', () => {
    const error = (() => {
      try {
        encodeWbxml(element('Meta', [element('Type', ['x'])]));
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/<Type>.*MetInf/) });
  });
});

describe('decodeWbxml', () => {
  it('gives page-1 tokens the metinf page', () => {
    const tree = decodeWbxml(bytes(HEADER, 0x5a, 0x00, 0x01, 0x53, 0x03, 'b64', 0x00, 0x01, 0x0e, 0x01));
    expect(tree).toEqual(element('Meta', [metinf('Type', ['b64']), metinf('MetInf')]));
  });

  it('merges STR_I, STR_T and ENTITY pieces of one element into one string', () => {
    const input = bytes(headerWithTable('xx\0https://a\0'), 0x61, 0x83, 0x03, 0x03, '?s=1', 0x00, 0x02, 0x81, 0x69, 0x01);
    expect(decodeWbxml(input)).toEqual(element('RespURI', ['https://a?s=1é']));
  });

  it('merges adjacent OPAQUE pieces and keeps them as bytes', () => {
    const input = bytes(HEADER, 0x4f, 0xc3, 0x02, 1, 2, 0xc3, 0x00, 0xc3, 0x01, 0xff, 0x01);
    const tree = decodeWbxml(input);
    expect(tree).toEqual(element('Data', [new Uint8Array([1, 2, 0xff])]));
    expect(tree.children[0]?.constructor).toBe(Uint8Array);
  });

  it('keeps OPAQUE from a Buffer as a plain Uint8Array copy', () => {
    const input = Buffer.from(bytes(HEADER, 0x4f, 0xc3, 0x02, 1, 2, 0x01));
    const data = decodeWbxml(input).children[0];
    expect(data?.constructor).toBe(Uint8Array);
    input[8] = 9;
    expect(data).toEqual(new Uint8Array([1, 2]));
  });

  it('drops whitespace-only text next to elements and keeps it as sole content', () => {
    const input = bytes(HEADER, 0x6d, 0x03, '\n ', 0x00, 0x4f, 0x03, ' ', 0x00, 0x01, 0x03, '\t', 0x00, 0x01);
    expect(decodeWbxml(input)).toEqual(element('SyncML', [element('Data', [' '])]));
  });

  it('keeps nested content in order, each element with its own children array', () => {
    // <SyncBody><Item><Data>1</Data></Item><Final/><Item/>x</SyncBody>, with whitespace between.
    const input = bytes(HEADER, 0x6b, 0x54, 0x4f, 0x03, '1', 0x00, 0x01, 0x03, ' ', 0x00, 0x01, 0x12, 0x14, 0x03, 'x', 0x00, 0x01);
    const tree = decodeWbxml(input);
    expect(tree).toEqual(element('SyncBody', [element('Item', [element('Data', ['1'])]), element('Final'), element('Item'), 'x']));
    const [first, final, second] = tree.children.filter(isElement);
    final?.children.push('a');
    expect(second?.children).toEqual([]);
    expect(first?.children).toEqual([element('Data', ['1'])]);
  });

  it('reads an element with the content bit but no content (as libwbxml writes emptied text)', () => {
    expect(decodeWbxml(bytes(HEADER, 0x72, 0x01))).toEqual(element('VerProto'));
  });

  it('resolves LITERAL tags through the string table to known elements', () => {
    const input = bytes(headerWithTable('Meta\0Type\0'), 0x44, 0x00, 0x04, 0x05, 0x01);
    expect(decodeWbxml(input)).toEqual(element('Meta', [metinf('Type')]));
    expect(decodeError(bytes(headerWithTable('Foo\0'), 0x04, 0x00)).message).toMatch(/literal tag <Foo>/);
    expect(decodeError(bytes(headerWithTable('Meta\0'), 0x84, 0x00, 0x01)).message).toMatch(/attributes/);
  });

  it('accepts the literal public id, and SyncML 1.1 and 1.0 ids, whose tokens are the same', () => {
    const id = '-//SYNCML//DTD SyncML 1.2//EN';
    const literal = bytes(0x02, 0x00, 0x00, 0x6a, id.length + 1, id, 0x00, 0x12);
    expect(decodeWbxml(literal)).toEqual(element('Final'));
    expect(decodeWbxml(bytes(0x02, 0x9f, 0x53, 0x6a, 0x00, 0x12))).toEqual(element('Final'));
    expect(decodeWbxml(bytes(0x01, 0x9f, 0x51, 0x6a, 0x00, 0x12))).toEqual(element('Final'));
    const other = '-//WAPFORUM//DTD SI 1.0//EN';
    expect(decodeError(bytes(0x02, 0x00, 0x00, 0x6a, other.length + 1, other, 0x00, 0x12)).message).toMatch(/public id "-\/\/WAPFORUM/);
  });

  it('decodes US-ASCII and ISO-8859-1 as latin1 and refuses other charsets', () => {
    expect(decodeWbxml(bytes(0x02, 0xa4, 0x01, 0x04, 0x00, 0x4f, 0x03, 0xe9, 0x00, 0x01))).toEqual(element('Data', ['é']));
    expect(decodeWbxml(bytes(0x02, 0xa4, 0x01, 0x03, 0x00, 0x4f, 0x03, 0x41, 0x00, 0x01))).toEqual(element('Data', ['A']));
    expect(decodeError(bytes(0x02, 0xa4, 0x01, 0x87, 0x68, 0x00, 0x12)).message).toMatch(/charset MIBenum 1000.*offset 3|offset 3.*charset MIBenum 1000/);
  });

  it('enforces maxDepth, maxElements and maxBytes with TOO_LARGE', () => {
    const nested = bytes(HEADER, 0x6d, 0x6b, 0x60, 0x14, 0x01, 0x01, 0x01);
    expect(decodeWbxml(nested, { ...DEFAULT_LIMITS, maxDepth: 4 }).name).toBe('SyncML');
    expect(decodeError(nested, { ...DEFAULT_LIMITS, maxDepth: 3 }).code).toBe('TOO_LARGE');
    expect(decodeError(nested, { ...DEFAULT_LIMITS, maxElements: 3 }).code).toBe('TOO_LARGE');
    expect(decodeWbxml(nested, { ...DEFAULT_LIMITS, maxElements: 4 }).name).toBe('SyncML');
    expect(decodeError(nested, { ...DEFAULT_LIMITS, maxBytes: nested.length - 1 }).code).toBe('TOO_LARGE');
  });

  it('decodes 10 000 levels without recursion when the limit allows it', () => {
    const input = bytes(HEADER, new Array<number>(10_000).fill(0x6d), new Array<number>(10_000).fill(0x01));
    let node: SyncContent | undefined = decodeWbxml(input, { ...DEFAULT_LIMITS, maxDepth: 10_000, maxElements: 10_000 });
    let depth = 0;
    while (isElement(node)) {
      depth += 1;
      node = node.children[0];
    }
    expect(depth).toBe(10_000);
  });
});

describe('decodeWbxml on hostile input', { timeout: 20_000 }, () => {
  const cases: [string, Uint8Array, 'VALIDATION' | 'TOO_LARGE', RegExp][] = [
    ['empty input', bytes(), 'VALIDATION', /offset 0: message truncated/],
    ['a single byte', bytes(0x02), 'VALIDATION', /offset 1: .*public id/],
    ['WBXML 1.0 (no charset field)', bytes(0x00, 0xa4, 0x01, 0x00, 0x12), 'VALIDATION', /version byte 0x00/],
    ['the MetInf public id', bytes(0x02, 0xa4, 0x02, 0x6a, 0x00, 0x12), 'VALIDATION', /offset 1: public id 0x1202/],
    ['the unknown public id', bytes(0x02, 0x01, 0x6a, 0x00, 0x12), 'VALIDATION', /public id 0x01/],
    ['OPAQUE claiming 2^31 bytes', bytes(HEADER, 0x4f, 0xc3, 0x88, 0x80, 0x80, 0x80, 0x00, 0x01), 'VALIDATION', /offset 6: OPAQUE data claims 2147483648 bytes/],
    ['a string table longer than the message', bytes(0x02, 0xa4, 0x01, 0x6a, 0x8f, 0xff, 0xff, 0xff, 0x7f), 'VALIDATION', /string table claims 4294967295 bytes/],
    ['a 6-byte mb_u_int32', bytes(HEADER, 0x4f, 0xc3, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01), 'VALIDATION', /offset 7: OPAQUE length is longer than 5 bytes/],
    ['an mb_u_int32 of 2^32', bytes(HEADER, 0x4f, 0xc3, 0x90, 0x80, 0x80, 0x80, 0x00), 'VALIDATION', /does not fit in 32 bits/],
    ['an mb_u_int32 cut short', bytes(HEADER, 0x4f, 0xc3, 0x81), 'VALIDATION', /offset 8: message truncated/],
    ['a string-table reference past the table', bytes(headerWithTable('ab\0'), 0x4f, 0x83, 0x05, 0x01), 'VALIDATION', /offset 9: string table reference 5 is past the end of the 3-byte/],
    ['a string-table entry without NUL', bytes(headerWithTable('abc'), 0x4f, 0x83, 0x01, 0x01), 'VALIDATION', /no NUL terminator/],
    ['an unterminated STR_I', bytes(HEADER, 0x4f, 0x03, 'abc'), 'VALIDATION', /offset 6: inline string \(STR_I\) has no NUL/],
    ['invalid UTF-8', bytes(HEADER, 0x4f, 0x03, 0xc3, 0x28, 0x00, 0x01), 'VALIDATION', /offset 7: string is not valid UTF-8/],
    ['an END with nothing open', bytes(HEADER, 0x01), 'VALIDATION', /offset 5: END without an open element/],
    ['an extra END after the root', bytes(HEADER, 0x6d, 0x12, 0x01, 0x01), 'VALIDATION', /offset 8: 1 trailing bytes/],
    ['trailing garbage', bytes(HEADER, 0x12, 0xde, 0xad), 'VALIDATION', /offset 6: 2 trailing bytes after the root/],
    ['a missing END', bytes(HEADER, 0x6d, 0x6b, 0x12, 0x01), 'VALIDATION', /offset 9: message ends inside <SyncML> \(opened at offset 5\)/],
    ['no root element', bytes(HEADER), 'VALIDATION', /ends before the root/],
    ['text before the root', bytes(HEADER, 0x03, 'x', 0x00, 0x12), 'VALIDATION', /offset 5: content before the root/],
    ['attributes on a tag', bytes(HEADER, 0xad, 0x01), 'VALIDATION', /offset 5: attributes on tag token 0xAD/],
    ['an unknown tag token', bytes(HEADER, 0x30), 'VALIDATION', /offset 5: unknown tag token 0x30 on code page 0/],
    ['an unknown MetInf token', bytes(HEADER, 0x00, 0x01, 0x17), 'VALIDATION', /offset 7: unknown tag token 0x17 on code page 1 \(MetInf\)/],
    ['a switch to code page 2', bytes(HEADER, 0x00, 0x02, 0x12), 'VALIDATION', /SWITCH_PAGE to code page 2/],
    ['a processing instruction', bytes(HEADER, 0x43), 'VALIDATION', /processing instruction/],
    ['an extension token', bytes(HEADER, 0x4f, 0xc0, 0x01), 'VALIDATION', /extension token 0xC0/],
    ['an ENTITY beyond Unicode', bytes(HEADER, 0x4f, 0x02, 0xc4, 0x80, 0x00, 0x01), 'VALIDATION', /ENTITY 0x110000/],
    ['10 000 nested SyncML tags', bytes(HEADER, new Array<number>(10_000).fill(0x6d), new Array<number>(10_000).fill(0x01)), 'TOO_LARGE', /offset 37: .*deeper than 32/],
    [
      'string-table references expanding beyond maxBytes',
      bytes(0x03, 0xa4, 0x01, 0x6a, 0x87, 0x69, 'x'.repeat(1000), 0x00, 0x4f, new Array<number>(2_000).fill(0x83).flatMap((token) => [token, 0x00]), 0x01),
      'TOO_LARGE',
      /expands the message beyond/,
    ],
  ];

  it.each(cases)('refuses %s', (_, input, code, message) => {
    // What the error names shows where the parse stopped (the DOCTYPE, the depth, the
    // expansion bound), so no clock is asserted: a loaded machine only slows these.
    const error = decodeError(input);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('refuses input over maxBytes before looking at it', () => {
    expect(decodeError(new Uint8Array(DEFAULT_LIMITS.maxBytes + 1)).code).toBe('TOO_LARGE');
  });

  it('either decodes a mutated message or throws AppError, never anything else', () => {
    const table = 'Meta\0https://dm.example.com/dm\0';
    const valid = bytes(
      headerWithTable(table),
      encodeWbxml(sampleTree()).subarray(5, -1), // the sample's elements without the final END
      0x44, 0x00, 0x00, 0x01, 0x53, 0x83, 0x05, 0x02, 0x81, 0x69, 0x01, 0x01, // LITERAL Meta, Type from STR_T + ENTITY
      0x00, 0x00, 0x4f, 0xc3, 0x03, 0x00, 0xff, 0x01, 0x01,
      0x01,
    );
    expect(decodeWbxml(valid).name).toBe('SyncML');
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.constant(0) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), value: fc.constant(0) }),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (mutations) => {
        const mutated = [...valid];
        for (const { kind, at, value } of mutations) {
          const index = at % (mutated.length + 1);
          if (kind === 'set') mutated[index] = value;
          else if (kind === 'insert') mutated.splice(index, 0, value);
          else if (kind === 'delete') mutated.splice(index, 1);
          else mutated.length = index;
        }
        try {
          decodeWbxml(new Uint8Array(mutated));
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
        }
      }),
      { numRuns: 3_000 },
    );
  });
});

// ---------------------------------------------------------------------------------------
// Round trips

const SYNCML_NAMES = Object.keys(CODE_PAGES.syncml);
const METINF_NAMES = Object.keys(CODE_PAGES.metinf);

/** What a tree becomes after encode+decode: the codec's normalization, written out again. */
function expectedAfterRoundTrip(tree: SyncElement): SyncElement {
  const hasElements = tree.children.some(isElement);
  const kept = tree.children
    .filter((child) => typeof child !== 'string' || (child !== '' && !(hasElements && /^[ \t\r\n]*$/.test(child))))
    .map((child): SyncContent => {
      if (isElement(child)) return expectedAfterRoundTrip(child);
      return typeof child === 'string' && child.includes('\0') ? utf8(child) : child;
    });
  const merged: SyncContent[] = [];
  for (const child of kept) {
    const last = merged.at(-1);
    if (typeof child === 'string' && typeof last === 'string') merged[merged.length - 1] = last + child;
    else if (child instanceof Uint8Array && last instanceof Uint8Array) merged[merged.length - 1] = new Uint8Array([...last, ...child]);
    else merged.push(child);
  }
  return { name: tree.name, page: tree.page, children: merged };
}

function treeArbitrary(text: fc.Arbitrary<string>, withBytes: boolean): fc.Arbitrary<SyncElement> {
  const name = fc.oneof(
    fc.constantFrom(...SYNCML_NAMES).map((value) => ({ name: value, page: 'syncml' as Page })),
    fc.constantFrom(...METINF_NAMES).map((value) => ({ name: value, page: 'metinf' as Page })),
  );
  const { tree } = fc.letrec<{ tree: SyncElement; content: SyncContent }>((tie) => ({
    tree: fc
      .record({ tag: name, children: fc.array(tie('content'), { maxLength: 5 }) })
      .map(({ tag, children }): SyncElement => ({ name: tag.name, page: tag.page, children })),
    content: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      text,
      ...(withBytes ? [fc.uint8Array({ maxLength: 300 })] : []),
      tie('tree'),
    ),
  }));
  return tree;
}

describe('WBXML round trips', () => {
  const anyText = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.string({ unit: 'binary', maxLength: 20 }), // sometimes NUL: must come back as OPAQUE bytes
    fc.constantFrom(' ', '\n\t ', '', 'a\0b', '<&>]]>'),
  );

  it('decode(encode(tree)) gives the tree back, text with NUL as bytes', () => {
    fc.assert(
      fc.property(treeArbitrary(anyText, true), fc.constantFrom(0x02 as const, 0x03 as const), (tree, version) => {
        expect(decodeWbxml(encodeWbxml(tree, { version }), { ...DEFAULT_LIMITS, maxDepth: 1000 })).toEqual(expectedAfterRoundTrip(tree));
      }),
      { numRuns: 400 },
    );
  });

  it('re-encodes a decoded message to the same bytes', () => {
    const limits = { ...DEFAULT_LIMITS, maxDepth: 1000 };
    fc.assert(
      fc.property(treeArbitrary(anyText, true), (tree) => {
        const encoded = encodeWbxml(decodeWbxml(encodeWbxml(tree), limits));
        expect(encodeWbxml(decodeWbxml(encoded, limits))).toEqual(encoded);
      }),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------
// libwbxml, an independent implementation

function sampleTree(): SyncElement {
  return xmlToTree(SAMPLES[0] === undefined ? '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncBody><Final/></SyncBody></SyncML>' : sampleXml(SAMPLES[0]));
}

describe('WBXML against libwbxml', () => {
  it('finds the protocol samples', () => {
    expect(SAMPLES.length).toBeGreaterThan(0);
  });

  it.skipIf(!libwbxml).each(SAMPLES)('decodes xml2wbxml output of %s, with a string table and toolkit style', (name) => {
    const dir = tempDir();
    const xml = sampleXml(name);
    const want = comparable(xmlToTree(xml));
    const libwbxmlStyle = xml2wbxml(dir, xml);
    expect(libwbxmlStyle[0]).toBe(0x03);
    expect(comparable(decodeWbxml(libwbxmlStyle))).toEqual(want);
    const toolkitStyle = xml2wbxml(dir, xml, ['-v', '1.2', '-n']);
    expect([...toolkitStyle.subarray(0, 5)]).toEqual(HEADER);
    expect(comparable(decodeWbxml(toolkitStyle))).toEqual(want);
  });

  it.skipIf(!libwbxml).each(SAMPLES)('writes %s so that wbxml2xml reads the same tree back', (name) => {
    const dir = tempDir();
    const tree = xmlToTree(sampleXml(name));
    for (const version of [0x02, 0x03] as const) {
      expect(comparable(xmlToTree(wbxml2xml(dir, encodeWbxml(tree, { version }))))).toEqual(comparable(tree));
    }
  });

  it.skipIf(!libwbxml)('gets Replace Item Data from libwbxml as OPAQUE bytes', () => {
    const xml = '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncBody><Replace><CmdID>2</CmdID><Item><Data>Acme</Data></Item></Replace></SyncBody></SyncML>';
    const wbxml = xml2wbxml(tempDir(), xml);
    expect([...wbxml.subarray(-12)]).toEqual([0x4f, 0xc3, 0x04, ...utf8('Acme'), 0x01, 0x01, 0x01, 0x01, 0x01]);
    expect(decodeWbxml(wbxml).children[0]).toEqual(element('SyncBody', [element('Replace', [element('CmdID', ['2']), element('Item', [element('Data', [utf8('Acme')])])])]));
  });

  // libwbxml trims text and drops whitespace-only text (without -k), writes NUL and raw bytes
  // into its XML, and leaves "]]>" inside CDATA: the random text here avoids all that.
  const libwbxmlSafeText = fc
    .string({ unit: fc.constantFrom(...'abcXYZ019 .:/-_?=&<>"\'é€𝄞'.match(/./gu) ?? []), minLength: 1, maxLength: 12 })
    .map((text) => text.trim())
    .filter((text) => text !== '');
  const rootedTree = treeArbitrary(libwbxmlSafeText, false).map((tree) => element('SyncML', [tree]));

  it.skipIf(!libwbxml)('agrees with wbxml2xml on random trees we encode', () => {
    const dir = tempDir();
    fc.assert(
      fc.property(rootedTree, (tree) => {
        expect(comparable(xmlToTree(wbxml2xml(dir, encodeWbxml(tree))))).toEqual(comparable(tree));
      }),
      { numRuns: 25 },
    );
  });

  it.skipIf(!libwbxml)('agrees with xml2wbxml on random trees we decode', () => {
    const dir = tempDir();
    fc.assert(
      fc.property(rootedTree, (tree) => {
        expect(comparable(decodeWbxml(xml2wbxml(dir, treeToXml(tree)), { ...DEFAULT_LIMITS, maxDepth: 1000 }))).toEqual(comparable(tree));
      }),
      { numRuns: 25 },
    );
  });
});
