import { readFileSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import ts from 'typescript';

/**
 * `qalqan/no-import-cycle`: a file may not import a file that leads back to it. Type-only imports count: a cycle
 * through types still ties the files together (neither can be read, tested or moved without the other), and the cycle
 * the CLI had (`program.ts` ↔ the command files) ran back through `import type`. import-x/no-cycle and
 * eslint-plugin-import skip type-only imports with no option to count them, hence this small rule. Specifiers are
 * resolved the way `tsc` does for this project (NodeNext: `./x.js` is `./x.ts`); packages are not followed.
 */

const compilerOptions = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext };
const resolutionCache = ts.createModuleResolutionCache(process.cwd(), (name) => name, compilerOptions);
/** A file's local imports as read from disk, kept while its modification time is unchanged. */
const importsOnDisk = new Map();

function resolve(specifier, fromFile) {
  const resolved = ts.resolveModuleName(specifier, fromFile, compilerOptions, ts.sys, resolutionCache).resolvedModule;
  return resolved && !resolved.isExternalLibraryImport ? resolved.resolvedFileName : undefined;
}

function localImports(file) {
  let mtimeMs;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    return [];
  }
  const known = importsOnDisk.get(file);
  if (known?.mtimeMs === mtimeMs) return known.imports;
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const imports = [...new Set(importedFiles.map((f) => resolve(f.fileName, file)).filter((f) => f !== undefined))];
  importsOnDisk.set(file, { mtimeMs, imports });
  return imports;
}

/** The shortest chain of imports from `start` back to `file`, or undefined when there is none. */
function pathBack(start, file, importsOf) {
  const cameFrom = new Map([[start, undefined]]);
  const queue = [start];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const imported of importsOf(next)) {
      if (imported === file) {
        const chain = [next];
        for (let step = cameFrom.get(next); step !== undefined; step = cameFrom.get(step)) chain.unshift(step);
        return chain;
      }
      if (!cameFrom.has(imported)) {
        cameFrom.set(imported, next);
        queue.push(imported);
      }
    }
  }
  return undefined;
}

/** Every file that `file` imports, directly or not, and that imports `file` back, directly or not. */
function filesInCycleWith(file, importsOf) {
  const importedBy = new Map([[file, []]]);
  const queue = [file];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const imported of importsOf(next)) {
      if (!importedBy.has(imported)) {
        importedBy.set(imported, []);
        queue.push(imported);
      }
      importedBy.get(imported).push(next);
    }
  }
  const inCycle = new Set();
  const back = [file];
  for (let next = back.pop(); next !== undefined; next = back.pop()) {
    for (const importer of importedBy.get(next)) {
      if (!inCycle.has(importer)) {
        inCycle.add(importer);
        back.push(importer);
      }
    }
  }
  return inCycle;
}

const noImportCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'forbid imports, type-only ones included, that lead back to the importing file' },
    schema: [],
    messages: { cycle: 'Import cycle: {{chain}}' },
  },
  create(context) {
    const file = context.physicalFilename;
    const read = new Map();
    const importsOf = (f) => {
      if (!read.has(f)) read.set(f, localImports(f));
      return read.get(f);
    };
    let inCycle;
    const check = (node, source) => {
      if (source?.type !== 'Literal' || typeof source.value !== 'string') return;
      const target = resolve(source.value, file);
      if (target === undefined || target === file) return;
      inCycle ??= filesInCycleWith(file, importsOf);
      if (!inCycle.has(target)) return;
      const chain = pathBack(target, file, importsOf);
      if (chain) context.report({ node, messageId: 'cycle', data: { chain: [file, ...chain, file].map((f) => relative(context.cwd, f)).join(' → ') } });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source),
      TSImportEqualsDeclaration: (node) => check(node, node.moduleReference.expression),
      TSImportType: (node) => check(node, node.argument.literal),
    };
  },
};

export default { rules: { 'no-import-cycle': noImportCycle } };
