import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { afterEach, describe, expect, it } from 'vitest';

/** The project's own ESLint configuration, run over small source trees written for each case. */
const config = fileURLToPath(new URL('../eslint.config.js', import.meta.url));
let dir: string;

async function cycleMessages(files: Record<string, string>): Promise<Record<string, string[]>> {
  dir = mkdtempSync(join(tmpdir(), 'qalqan-cycles-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const results = await new ESLint({ cwd: dir, overrideConfigFile: config }).lintFiles(['*.ts']);
  return Object.fromEntries(
    results.map((r) => [r.filePath.slice(dir.length + 1), r.messages.filter((m) => m.ruleId === 'qalqan/no-import-cycle').map((m) => m.message)]),
  );
}

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('lint: no import cycles', () => {
  it('refuses a cycle that runs through a type-only import, naming the chain', async () => {
    const found = await cycleMessages({
      'program.ts': "import { addCommands } from './commands.js';\nexport type Run = () => void;\nexport const build = () => addCommands;\n",
      'commands.ts': "import type { Run } from './program.js';\nexport const addCommands = (run: Run) => run();\n",
    });
    expect(found).toEqual({
      'commands.ts': ['Import cycle: commands.ts → program.ts → commands.ts'],
      'program.ts': ['Import cycle: program.ts → commands.ts → program.ts'],
    });
  });

  it('refuses a longer cycle through a re-export and a dynamic import', async () => {
    const found = await cycleMessages({
      'a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'b.ts': "export { c as b } from './c.js';\n",
      'c.ts': "export const c = () => import('./a.js');\n",
    });
    expect(found).toEqual({
      'a.ts': ['Import cycle: a.ts → b.ts → c.ts → a.ts'],
      'b.ts': ['Import cycle: b.ts → c.ts → a.ts → b.ts'],
      'c.ts': ['Import cycle: c.ts → a.ts → b.ts → c.ts'],
    });
  });

  it('refuses a cycle through an import type', async () => {
    const found = await cycleMessages({
      'a.ts': "export type A = import('./b.js').B[];\n",
      'b.ts': "import type { A } from './a.js';\nexport type B = { a: A };\n",
    });
    expect(found).toEqual({ 'a.ts': ['Import cycle: a.ts → b.ts → a.ts'], 'b.ts': ['Import cycle: b.ts → a.ts → b.ts'] });
  });

  it('accepts two files that share a third', async () => {
    const found = await cycleMessages({
      'types.ts': 'export type Run = () => void;\n',
      'program.ts':
        "import { addCommands } from './commands.js';\nimport type { Run } from './types.js';\nexport const build = (run: Run) => addCommands(run);\n",
      'commands.ts': "import type { Run } from './types.js';\nexport const addCommands = (run: Run) => run();\n",
    });
    expect(found).toEqual({ 'commands.ts': [], 'program.ts': [], 'types.ts': [] });
  });
});
