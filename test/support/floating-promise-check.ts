// Promises nobody waits for, found with the compiler's types. With every store access
// asynchronous, a call that used to return nothing now returns a promise, and left alone
// it still compiles: its work may run after the transaction it belonged to, and its
// failure becomes an unhandled rejection instead of an error the caller sees. A drizzle
// query builder is a thenable too, and one that is not awaited never runs at all.
// Reported, by file and line:
//   - an expression statement whose value is a thenable, unless it is awaited, `void`-ed
//     on purpose, or ends in `.catch(...)` / `.then(onFulfilled, onRejected)`;
//   - a function returning a thenable passed where a callback returning void is expected
//     (`setInterval(() => tick())`, `list.forEach(async ...)`): its caller drops the promise.
import ts from 'typescript';
import { type Finding, findingAt, sortFindings, sourcesIn, visit } from './transaction-check.ts';

export function checkFloatingPromises(program: ts.Program, files: string[]): Finding[] {
  const checker = program.getTypeChecker();
  const findings: Finding[] = [];
  for (const source of sourcesIn(program, files)) {
    visit(source, (node) => {
      if (ts.isExpressionStatement(node)) {
        const expression = skipParentheses(node.expression);
        if (!isHandled(expression) && isThenable(checker, checker.getTypeAtLocation(expression))) {
          findings.push(findingAt(node, `\`${excerpt(expression)}\` is a promise nobody awaits: await it, return it, or \`void\` it with a comment why`));
        }
      }
      // Promise#finally waits for what its callback returns, whatever its type says.
      if ((ts.isCallExpression(node) || ts.isNewExpression(node)) && node.arguments && !isFinallyCall(node)) {
        for (const arg of node.arguments) {
          if (returnsThenable(checker, arg) && expectsVoidCallback(checker, arg)) {
            findings.push(findingAt(arg, `\`${excerpt(node.expression)}\` is given a function that returns a promise where it expects one returning void: it drops the promise (and its rejection)`));
          }
        }
      }
    });
  }
  return sortFindings(findings);
}

function isFinallyCall(node: ts.CallExpression | ts.NewExpression): boolean {
  return ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'finally';
}

function skipParentheses(expression: ts.Expression): ts.Expression {
  return ts.isParenthesizedExpression(expression) ? skipParentheses(expression.expression) : expression;
}

/** Awaited, `void`-ed, stored, or given a rejection handler. */
function isHandled(expression: ts.Expression): boolean {
  if (ts.isAwaitExpression(expression) || ts.isVoidExpression(expression)) return true;
  if (ts.isBinaryExpression(expression) && expression.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && expression.operatorToken.kind <= ts.SyntaxKind.LastAssignment) return true;
  if (ts.isCallExpression(expression) && ts.isPropertyAccessExpression(expression.expression)) {
    const method = expression.expression.name.text;
    if (method === 'catch') return true;
    if (method === 'then' && expression.arguments.length >= 2) return true;
  }
  return false;
}

/** A promise, a drizzle query builder, or a union with one in it: anything with a callable `then`. */
function isThenable(checker: ts.TypeChecker, type: ts.Type): boolean {
  if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return false;
  return (type.isUnion() ? type.types : [type]).some((part) => {
    const then = part.getProperty('then');
    const declaration = then?.valueDeclaration ?? then?.declarations?.[0];
    return then !== undefined && declaration !== undefined && checker.getTypeOfSymbolAtLocation(then, declaration).getCallSignatures().length > 0;
  });
}

function returnsThenable(checker: ts.TypeChecker, arg: ts.Expression): boolean {
  const signatures = checker.getTypeAtLocation(arg).getCallSignatures();
  return signatures.length > 0 && signatures.every((s) => isThenable(checker, s.getReturnType()));
}

/** The parameter the argument lands in is a function type whose every signature returns void. */
function expectsVoidCallback(checker: ts.TypeChecker, arg: ts.Expression): boolean {
  const expected = checker.getContextualType(arg);
  if (!expected) return false;
  const signatures = (expected.isUnion() ? expected.types : [expected]).flatMap((t) => t.getCallSignatures());
  return signatures.length > 0 && signatures.every((s) => (s.getReturnType().flags & ts.TypeFlags.Void) !== 0);
}

function excerpt(node: ts.Node): string {
  const text = node.getText().replace(/\s+/g, ' ');
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
