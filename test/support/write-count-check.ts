// The write-count rule of src/store/README.md as a check: every function that writes a
// table of a write-count topic (src/store/queries/write-counts.ts) calls
// `countWrite(tx, topic)`, or else every caller of it does. A DM message keeps some reads
// for the rest of its transaction (deployments/active.ts, queries/footing.ts) and trusts
// them only while the topic's count has not moved: an uncounted write leaves a hook acting
// on a stale read, and no test of behaviour would notice until the one message that hits it.
//
// A write is a drizzle `.insert(table)`, `.update(table)` or `.delete(table)` (the table
// known by its type, so `tx.t.x`, a destructured `x` or an alias all count), or a raw `sql`
// template that inserts into, updates or deletes from the table by name or `${table}`.
// Counted means: `countWrite(…, 'topic')` in the function or a function around it, or a
// call of a helper that only counts (such as `counted(tx)`); a function that does not count itself
// (a prepared statement's builder, a private helper) passes when every use of it is in a
// function that does, so the rule is met where the statement runs.
import ts from 'typescript';
import { type Finding, findingAt, loadProgram, sortFindings, sourcesIn, visit } from './transaction-check.ts';

/** The tables each topic covers: what the kept reads read (queries/footing.ts, deployments/active.ts). */
export const TOPIC_TABLES: Record<string, readonly string[]> = {
  deployments: ['deployments'],
  scomo: ['scomo_deployments', 'device_apps', 'app_baselines'],
  profileApplications: ['profile_applications'],
  operations: ['dm_operations'],
};

const TOPIC_OF = new Map(Object.entries(TOPIC_TABLES).flatMap(([topic, tables]) => tables.map((table) => [table, topic] as const)));
const WRITE_METHODS = new Set(['insert', 'update', 'delete']);
const WRITE_VERB = String.raw`\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+`;
const NAMED_WRITE = new RegExp(`${WRITE_VERB}"?([A-Za-z_][A-Za-z0-9_]*)"?`, 'gi');
const VERB_BEFORE_TABLE = new RegExp(`${WRITE_VERB}$`, 'i');

type FunctionLike = ts.FunctionDeclaration | ts.MethodDeclaration | ts.ArrowFunction | ts.FunctionExpression;

/** Checks `files` (src/, or a fixture) with the compiler options of `tsconfigPath`, or in a program already loaded. */
export function checkWriteCounts(files: string[], tsconfigPath: string, program = loadProgram(files, tsconfigPath)): Finding[] {
  const checker = program.getTypeChecker();
  const sources = sourcesIn(program, files);
  const named = identifiersByName(sources);
  const countsMemo = new Map<ts.Node, Set<string>>();
  const findings: Finding[] = [];
  for (const source of sources) {
    visit(source, (node) => {
      for (const table of tablesWritten(node, checker)) {
        const topic = TOPIC_OF.get(table);
        if (topic === undefined || isCounted(node, topic, new Set())) continue;
        findings.push(findingAt(node, `writes ${table} without countWrite(tx, '${topic}') in this function, a counting helper it calls, or every function that uses it (src/store/README.md)`));
      }
    });
  }
  return sortFindings(findings);

  function isCounted(node: ts.Node, topic: string, followed: Set<ts.Symbol>): boolean {
    let outermost: FunctionLike | undefined;
    for (let at: ts.Node | undefined = node.parent; at; at = at.parent) {
      if (!isFunctionLike(at)) continue;
      if (countsIn(at).has(topic)) return true;
      outermost = at;
    }
    const symbol = outermost && bindingOf(outermost, checker);
    if (!symbol || followed.has(symbol)) return false;
    // Resolving only the identifiers spelled like the name: resolving every one in src/ costs seconds.
    const refs = (named.get(symbol.getName()) ?? []).filter((id) => resolved(checker.getSymbolAtLocation(id), checker) === symbol);
    return refs.length > 0 && refs.every((ref) => isCounted(ref, topic, new Set([...followed, symbol])));
  }

  /**
   * The topics a function counts: `countWrite(…, 'topic')` in it, or a call of a counting
   * helper (a function that calls countWrite and writes nothing itself, like `counted(tx)`).
   * No deeper: a function that merely calls some other writer that counts does not count
   * this write.
   */
  function countsIn(fn: ts.Node): Set<string> {
    const memo = countsMemo.get(fn);
    if (memo) return memo;
    const topics = new Set(directCounts(fn, checker));
    visit(fn, (node) => {
      if (!ts.isCallExpression(node)) return;
      const callee = declarationOf(node.expression, checker);
      const body = callee && !isCountWrite(callee) ? functionOf(callee) : undefined;
      if (body && !writesAnything(body, checker)) for (const topic of directCounts(body, checker)) topics.add(topic);
    });
    countsMemo.set(fn, topics);
    return topics;
  }
}

/** The topics of the `countWrite(…, 'topic')` calls written in `fn`. */
function directCounts(fn: ts.Node, checker: ts.TypeChecker): string[] {
  const topics: string[] = [];
  visit(fn, (node) => {
    if (!ts.isCallExpression(node)) return;
    const callee = declarationOf(node.expression, checker);
    const topic = node.arguments[1];
    if (callee && isCountWrite(callee) && topic && ts.isStringLiteralLike(topic)) topics.push(topic.text);
  });
  return topics;
}

function writesAnything(fn: ts.Node, checker: ts.TypeChecker): boolean {
  let writes = false;
  visit(fn, (node) => {
    if (!writes && tablesWritten(node, checker).length > 0) writes = true;
  });
  return writes;
}

/** Every identifier that uses a name (not one declaring it), by its text. */
function identifiersByName(sources: ts.SourceFile[]): Map<string, ts.Identifier[]> {
  const named = new Map<string, ts.Identifier[]>();
  for (const source of sources) {
    visit(source, (node) => {
      if (!ts.isIdentifier(node) || isDeclarationName(node)) return;
      const list = named.get(node.text);
      if (list) list.push(node);
      else named.set(node.text, [node]);
    });
  }
  return named;
}

function isDeclarationName(id: ts.Identifier): boolean {
  const parent = id.parent;
  if (ts.isImportSpecifier(parent) || ts.isExportSpecifier(parent) || ts.isImportClause(parent) || ts.isNamespaceImport(parent)) return true;
  return (ts.isFunctionDeclaration(parent) || ts.isVariableDeclaration(parent) || ts.isMethodDeclaration(parent) || ts.isParameter(parent) || ts.isBindingElement(parent)) && parent.name === id;
}

function resolved(symbol: ts.Symbol | undefined, checker: ts.TypeChecker): ts.Symbol | undefined {
  return symbol && symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

function isFunctionLike(node: ts.Node): node is FunctionLike {
  return ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isArrowFunction(node) || ts.isFunctionExpression(node);
}

/**
 * The name a function is known by: its own, or the variable its expression ends up in,
 * also through a wrapper call (`const update = preparedPer((tx) => …)`).
 */
function bindingOf(fn: FunctionLike, checker: ts.TypeChecker): ts.Symbol | undefined {
  if ((ts.isFunctionDeclaration(fn) || ts.isMethodDeclaration(fn)) && fn.name) return checker.getSymbolAtLocation(fn.name);
  let at: ts.Node = fn;
  while (ts.isCallExpression(at.parent) || ts.isParenthesizedExpression(at.parent) || ts.isAsExpression(at.parent)) at = at.parent;
  return ts.isVariableDeclaration(at.parent) && ts.isIdentifier(at.parent.name) ? checker.getSymbolAtLocation(at.parent.name) : undefined;
}

function declarationOf(expression: ts.Expression, checker: ts.TypeChecker): ts.Declaration | undefined {
  const name = ts.isPropertyAccessExpression(expression) ? expression.name : expression;
  return resolved(checker.getSymbolAtLocation(name), checker)?.declarations?.[0];
}

function isCountWrite(declaration: ts.Declaration): boolean {
  return ts.isFunctionDeclaration(declaration) && declaration.name?.text === 'countWrite' && /[\\/]src[\\/]store[\\/]queries[\\/]write-counts\.ts$/.test(declaration.getSourceFile().fileName);
}

/** The function a called name declares, when written in this program (not a library's). */
function functionOf(declaration: ts.Declaration): ts.Node | undefined {
  if (declaration.getSourceFile().isDeclarationFile) return undefined;
  if ((ts.isFunctionDeclaration(declaration) || ts.isMethodDeclaration(declaration)) && declaration.body) return declaration.body;
  if (ts.isVariableDeclaration(declaration) && declaration.initializer && (ts.isArrowFunction(declaration.initializer) || ts.isFunctionExpression(declaration.initializer))) return declaration.initializer.body;
  return undefined;
}

/** The tables `node` writes, if it is a drizzle insert/update/delete or a raw `sql` write. */
function tablesWritten(node: ts.Node, checker: ts.TypeChecker): string[] {
  if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && WRITE_METHODS.has(node.expression.name.text) && node.arguments.length === 1) {
    const table = tableName(node.arguments[0] as ts.Expression, checker);
    return table === undefined ? [] : [table];
  }
  if (!ts.isTaggedTemplateExpression(node) || node.tag.getText() !== 'sql') return [];
  const template = node.template;
  const texts = ts.isNoSubstitutionTemplateLiteral(template) ? [template.text] : [template.head.text, ...template.templateSpans.map((s) => s.literal.text)];
  const tables = texts.flatMap((text) => [...text.matchAll(NAMED_WRITE)].map((m) => (m[1] ?? '').toLowerCase()));
  if (ts.isTemplateExpression(template)) {
    template.templateSpans.forEach((span, i) => {
      const before = texts[i] ?? '';
      const table = VERB_BEFORE_TABLE.test(before) ? tableName(span.expression, checker) : undefined;
      if (table !== undefined) tables.push(table);
    });
  }
  return tables;
}

/** The SQL name of a drizzle table (its type's `_.name`), else undefined. */
function tableName(expression: ts.Expression, checker: ts.TypeChecker): string | undefined {
  const meta = checker.getTypeAtLocation(expression).getProperty('_');
  const name = meta && checker.getTypeOfSymbolAtLocation(meta, expression).getProperty('name');
  const type = name && checker.getTypeOfSymbolAtLocation(name, expression);
  return type?.isStringLiteral() ? type.value : undefined;
}
