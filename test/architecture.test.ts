import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The rules of ../shared/ARCHITECTURE.md that a compiler does not enforce, checked over the source tree.
const ROOT = resolve(import.meta.dirname, '..');
const MAX_LINES = 400;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'testdata' ? [] : filesUnder(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const sources = [...filesUnder(join(ROOT, 'src')), ...filesUnder(join(ROOT, 'bench')), ...filesUnder(join(ROOT, 'test'))];
const rel = (path: string) => relative(ROOT, path).split('\\').join('/');
const text = new Map(sources.map((f) => [rel(f), readFileSync(f, 'utf8')]));

/** Project files a file imports (static, dynamic and type-only), as paths relative to the root, `.js` read as `.ts`. */
function importsOf(file: string): string[] {
  const found = [...text.get(file)!.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => m[1]!);
  return found.map((spec) => rel(resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts'));
}

/** `devices` for `src/modules/devices/…`, else null. */
const moduleOf = (file: string) => /^src\/modules\/([^/]+)\//.exec(file)?.[1] ?? null;
const modules = readdirSync(join(ROOT, 'src/modules')).filter((m) => statSync(join(ROOT, 'src/modules', m)).isDirectory());

describe('architecture', () => {
  it(`has no source file over ${MAX_LINES} lines`, () => {
    const long = [...text].filter(([, t]) => t.split('\n').length > MAX_LINES + 1).map(([f, t]) => `${f}: ${t.split('\n').length - 1} lines`);
    expect(long).toEqual([]);
  });

  it('gives every module a front door, its own tables and its own policy at its root', () => {
    const missing = modules.flatMap((m) =>
      ['index.ts', 'tables.ts', 'policy.ts'].filter((f) => !text.has(`src/modules/${m}/${f}`)).map((f) => `src/modules/${m}/${f}`),
    );
    expect(missing).toEqual([]);
  });

  it('lets a module reach another module only through its front door (never its repositories or tables)', () => {
    const crossings = [...text.keys()].flatMap((file) => {
      const own = moduleOf(file);
      if (own === null) return [];
      return importsOf(file)
        .filter((target) => {
          const other = moduleOf(target);
          return other !== null && other !== own && target !== `src/modules/${other}/index.ts`;
        })
        .map((target) => `${file} → ${target}`);
    });
    expect(crossings).toEqual([]);
  });

  it('has server.ts and the CLI use modules through their front doors only', () => {
    const callers = [...text.keys()].filter((f) => f === 'src/server.ts' || f.startsWith('src/cli/'));
    const inside = callers.flatMap((file) =>
      importsOf(file)
        .filter((t) => moduleOf(t) !== null && !/^src\/modules\/[^/]+\/index\.ts$/.test(t))
        .map((t) => `${file} → ${t}`),
    );
    expect(inside).toEqual([]);
  });

  it('keeps organisations, keys and users core’s: modules never read auth tables or the auth repository', () => {
    const reaches = [...text]
      .filter(([file]) => moduleOf(file) !== null)
      .flatMap(([file, t]) => {
        const found: string[] = [];
        if (/['"]auth_[a-z_]+/.test(t)) found.push(`${file} names an auth_* table`);
        if (importsOf(file).includes('src/core/auth/repository.ts')) found.push(`${file} imports core/auth/repository`);
        return found;
      });
    expect(reaches).toEqual([]);
  });

  it('keeps core free of modules, except the database type that composes their tables', () => {
    const reaches = [...text.keys()]
      .filter((f) => f.startsWith('src/core/'))
      .flatMap((file) =>
        importsOf(file)
          .filter((t) => moduleOf(t) !== null && !(file === 'src/core/db/types.ts' && t.endsWith('/tables.ts')))
          .map((t) => `${file} → ${t}`),
      );
    expect(reaches).toEqual([]);
  });

  it('types module code with the module’s own tables: only the front door sees the whole database', () => {
    const whole = [...text]
      .filter(([file]) => moduleOf(file) !== null && !/(\/index|\.test|\.fixture|\/fixtures)\.ts$/.test(file))
      .filter(([, t]) => /\bExecutor\b|Kysely<DB>|import type \{[^}]*\bDB\b[^}]*\} from/.test(t))
      .map(([file]) => file);
    expect(whole).toEqual([]);
  });

  it('keeps test helpers out of the build: only tests and *.fixture.ts files import src/testing', () => {
    const shipped = [...text.keys()]
      .filter((f) => !f.startsWith('src/testing/') && !f.startsWith('test/') && !/\.(test|fixture)\.ts$/.test(f))
      .flatMap((file) =>
        importsOf(file)
          .filter((t) => t.startsWith('src/testing/'))
          .map((t) => `${file} → ${t}`),
      );
    expect(shipped).toEqual([]);
  });

  it('lets routes call services, never repositories (a route runs no SQL)', () => {
    const direct = [...text.keys()]
      .filter((f) => moduleOf(f) !== null && /(^|\/)routes\.ts$/.test(f))
      .flatMap((file) =>
        importsOf(file)
          .filter((t) => /repository\.ts$/.test(t))
          .map((t) => `${file} → ${t}`),
      );
    expect(direct).toEqual([]);
  });
});
