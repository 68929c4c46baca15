// The README and docs/ are self-contained: every link and file they name points inside the
// repository, at something that exists.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve('.');
const documents = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];

describe.each(documents)('%s', (doc) => {
  const text = readFileSync(doc, 'utf8');

  it('links only to files inside the repository that exist', () => {
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '').filter((href) => !/^(https?:|mailto:|#)/.test(href));
    for (const href of links) {
      const target = resolve(dirname(doc), href.split('#')[0] ?? '');
      expect(relative(ROOT, target).startsWith('..'), `${doc} links outside the repository: ${href}`).toBe(false);
      expect(existsSync(target), `${doc} links to a missing file: ${href}`).toBe(true);
    }
  });

  it('names no file outside the repository', () => {
    expect(text).not.toMatch(/\.\.\/shared|\/work\/|DESIGN\.md/);
  });
});

it('the README points at the docs a user needs', () => {
  const readme = readFileSync('README.md', 'utf8');
  expect(readme).toContain('](docs/formats.md)');
  expect(readme).toContain('](docs/architecture.md)');
});
