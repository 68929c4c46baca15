// CONVENTIONS 12 as a check: inside a function passed to `.transaction(`, every read and
// write goes through that transaction's `tx`. A stray `ctx.db` runs outside the transaction:
// on SQLite it reads on the read-only connection (blind to the transaction's writes) and a
// `ctx.db.transaction` waits for this one forever; on a pooled PostgreSQL connection it
// could wait for the lock the transaction itself holds. So, lexically inside such a
// callback, this finds any use of the database object (`ctx.db`, `this.ctx.db`, a `db`
// taken from one) and any call that hands a `Context` along, since the callee could reach
// `ctx.db` from it. It uses the compiler's types, not names, so renaming `ctx` hides nothing.
import { readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export interface Finding {
  /** Relative to the working directory, `file:line` style. */
  file: string;
  line: number;
  message: string;
}

export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}: ${f.message}`;
}

/** The program of `files` with the compiler options of `tsconfigPath`, for the checks over src/. */
export function loadProgram(files: string[], tsconfigPath: string): ts.Program {
  return ts.createProgram(files, compilerOptions(tsconfigPath));
}

let src: { program: ts.Program; files: string[] } | undefined;

/**
 * Every source file of src/ in one program, built once per worker: the checks over src/
 * (transactions, floating promises) share it, and building it takes seconds.
 */
export function srcProgram(): { program: ts.Program; files: string[] } {
  if (!src) {
    const dir = resolve('src');
    const files = (readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts')).map((f) => join(dir, f));
    src = { program: loadProgram(files, resolve('tsconfig.json')), files };
  }
  return src;
}

/** Each of `files` as the program parsed it. */
export function sourcesIn(program: ts.Program, files: string[]): ts.SourceFile[] {
  return files.map((file) => {
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`the compiler did not load ${file}`);
    return source;
  });
}

/** A finding at `node`, by file (relative to the working directory) and line. */
export function findingAt(node: ts.Node, message: string): Finding {
  const source = node.getSourceFile();
  const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
  return { file: relative(process.cwd(), source.fileName), line: line + 1, message };
}

export function sortFindings(findings: Finding[]): Finding[] {
  return findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

/** Checks `files` with the compiler options of `tsconfigPath` (or in a program already loaded). */
export function checkTransactions(files: string[], tsconfigPath: string, program = loadProgram(files, tsconfigPath)): Finding[] {
  const checker = program.getTypeChecker();
  const findings: Finding[] = [];
  for (const source of sourcesIn(program, files)) {
    visit(source, (node) => {
      if (!isTransactionCall(node)) return;
      for (const body of callbackBodies(node, checker)) findings.push(...inspect(body, checker));
    });
  }
  return sortFindings(findings);
}

function compilerOptions(tsconfigPath: string): ts.CompilerOptions {
  const read = ts.readConfigFile(tsconfigPath, (path) => ts.sys.readFile(path));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  return ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(tsconfigPath)).options;
}

export function visit(node: ts.Node, fn: (node: ts.Node) => void): void {
  fn(node);
  ts.forEachChild(node, (child) => visit(child, fn));
}

/** `<anything>.transaction(callback)`: the store's. */
function isTransactionCall(node: ts.Node): node is ts.CallExpression {
  return ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'transaction' && node.arguments.length > 0;
}

/** The callback written in place, or the function a name passed there refers to. */
function callbackBodies(call: ts.CallExpression, checker: ts.TypeChecker): ts.Node[] {
  const arg = call.arguments[0];
  if (!arg) return [];
  if (ts.isArrowFunction(arg) || ts.isFunctionExpression(arg)) return [arg.body];
  const symbol = checker.getSymbolAtLocation(ts.isPropertyAccessExpression(arg) ? arg.name : arg);
  const target = symbol && symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  return (target?.declarations ?? []).flatMap((d) => {
    if ((ts.isFunctionDeclaration(d) || ts.isMethodDeclaration(d)) && d.body) return [d.body];
    if (ts.isVariableDeclaration(d) && d.initializer && (ts.isArrowFunction(d.initializer) || ts.isFunctionExpression(d.initializer))) return [d.initializer.body];
    return [];
  });
}

function inspect(body: ts.Node, checker: ts.TypeChecker): Finding[] {
  const findings: Finding[] = [];
  const report = (node: ts.Node, message: string) => findings.push(findingAt(node, message));
  visit(body, (node) => {
    if (isValueReference(node) && isDatabase(checker.getTypeAtLocation(node))) {
      report(node, `\`${node.getText()}\` is used inside a transaction callback; use its tx`);
    }
    if ((ts.isCallExpression(node) || ts.isNewExpression(node)) && node.arguments) {
      for (const arg of node.arguments) {
        if (carriesContext(arg, checker)) report(arg, `\`${callee(node)}\` is passed a Context inside a transaction callback (it could use ctx.db); pass tx and the values it needs`);
      }
    }
  });
  return findings;
}

/** An identifier or `a.b` read as a value (not a declared name, a property name or a type). */
function isValueReference(node: ts.Node): boolean {
  if (ts.isPropertyAccessExpression(node)) return true;
  if (!ts.isIdentifier(node)) return false;
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  if ((ts.isVariableDeclaration(parent) || ts.isParameter(parent) || ts.isBindingElement(parent) || ts.isPropertyAssignment(parent) || ts.isFunctionDeclaration(parent)) && parent.name === node) return false;
  return !ts.isTypeReferenceNode(parent) && !ts.isQualifiedName(parent);
}

/** The store (`Store`, src/store/store.ts: transactions, ping, close); a transaction's own `tx` has none of these. */
function isDatabase(type: ts.Type): boolean {
  return ['transaction', 'ping', 'close'].every((name) => type.getProperty(name) !== undefined);
}

/** A `Context` (src/context.ts), or an object literal with one in it. */
function carriesContext(arg: ts.Expression, checker: ts.TypeChecker): boolean {
  if (isContext(checker.getTypeAtLocation(arg))) return true;
  if (!ts.isObjectLiteralExpression(arg)) return false;
  return arg.properties.some((p) => (ts.isShorthandPropertyAssignment(p) || ts.isPropertyAssignment(p) || ts.isSpreadAssignment(p)) && isContext(checker.getTypeAtLocation(ts.isShorthandPropertyAssignment(p) ? p.name : ts.isPropertyAssignment(p) ? p.initializer : p.expression)));
}

function isContext(type: ts.Type): boolean {
  const symbol = type.aliasSymbol ?? type.getSymbol();
  return symbol?.getName() === 'Context' && (symbol.declarations ?? []).some((d) => /[\\/]src[\\/]context\.ts$/.test(d.getSourceFile().fileName));
}

function callee(call: ts.CallExpression | ts.NewExpression): string {
  const text = call.expression.getText();
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
