import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ImportGraph, type ImportEdge } from './helpers/import-graph.js';
import { projectRoot } from './helpers/livefx-process.js';

// The layering rules of the architecture (README, issue 13): core/ is the ground floor, feature folders
// never reach into the app shell, and no two top-level folders lean on each other.
const FEATURE_FOLDERS = ['transforms', 'recorder', 'highlights', 'studio'];

function describeEdges(edges: ImportEdge[]): string[] {
  return edges.map((edge) => `${edge.file} imports '${edge.specifier}'`);
}

function layeringProblems(graph: ImportGraph): { serverImports: string[]; coreLeaves: string[]; shellImportsCli: string[]; cycles: string[] } {
  return {
    serverImports: describeEdges(graph.between([...FEATURE_FOLDERS, 'core'], ['server'])),
    coreLeaves: describeEdges(graph.leaving('core')),
    shellImportsCli: describeEdges(graph.between(['server'], ['cli'])),
    cycles: graph.folderCycles().map((cycle) => `${cycle.folders.join(' -> ')}: ${cycle.witnesses.join('; ')}`),
  };
}

describe('import boundaries of the repository', () => {
  const graph = new ImportGraph({ root: projectRoot });
  const problems = layeringProblems(graph);

  it('reads the sources it judges', () => {
    // A broken reader would pass every rule below; the graph must see the imports we know exist.
    const folders = new Set(graph.edges.map((edge) => edge.fromFolder));
    for (const folder of ['core', 'server', 'transforms', 'recorder', 'highlights', 'cli', 'test']) expect(folders).toContain(folder);
    expect(graph.edges.length).toBeGreaterThan(300);
  });

  it('no file in transforms/, recorder/, highlights/, studio/ or core/ imports from server/', () => {
    expect(problems.serverImports).toEqual([]);
  });

  it('core/ imports no other top-level folder of ours', () => {
    expect(problems.coreLeaves).toEqual([]);
  });

  it('server/ (the app shell) does not import cli/', () => {
    expect(problems.shellImportsCli).toEqual([]);
  });

  it('there is no import cycle between top-level folders', () => {
    expect(problems.cycles).toEqual([]);
  });
});

/** Source files that import child_process for more than its types (benchmarks and tests are tools, not the product). */
function processLaunchers(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const file = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!['node_modules', 'dist', '.git', 'test', 'benchmarks'].includes(entry.name) && !entry.name.startsWith('.')) walk(file);
      } else if (/\.(ts|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        if (/^import\s+(?!type\s)[^;]*from\s+['"](node:)?child_process['"]/m.test(readFileSync(path.join(root, file), 'utf8'))) found.push(file);
      }
    }
  };
  walk('');
  return found.sort();
}

describe('process launches (issue 13: one process runner)', () => {
  it('only core/process/ starts child processes; everything else goes through ProcessRunner or SupervisedProcess', () => {
    expect(processLaunchers(projectRoot)).toEqual(['core/process/piped-process.ts', 'core/process/process-runner.ts', 'core/process/supervised-process.ts']);
  });
});

describe('the import checker', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  async function tree(files: Record<string, string>): Promise<string> {
    const root = await mkdtemp(path.join(tmpdir(), 'livefx-architecture-'));
    dirs.push(root);
    for (const [file, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(root, file)), { recursive: true });
      await writeFile(path.join(root, file), text);
    }
    return root;
  }

  // A tree that keeps the rules: the shell imports a feature, the CLI imports the shell, everything imports core/.
  const KEEPS_THE_RULES = {
    'core/logger.ts': 'export const log = 1;\n',
    'transforms/helper.ts': "import { log } from '../core/logger.js';\nexport const helper = log;\n",
    'server/shell.ts': "import { helper } from '../transforms/helper.js';\nimport type { x } from './types.js';\n",
    'cli/main.ts': "import '../server/shell.js';\n",
  };

  it('passes a tree that keeps the rules', async () => {
    expect(layeringProblems(new ImportGraph({ root: await tree(KEEPS_THE_RULES) }))).toEqual({ serverImports: [], coreLeaves: [], shellImportsCli: [], cycles: [] });
  });

  it('catches each kind of forbidden import added to that tree, type-only and dynamic ones included', async () => {
    const root = await tree({
      ...KEEPS_THE_RULES,
      'core/logger.ts': "// import { nothing } from '../server/in-a-comment.js';\nexport const log = 'not an import: ../server/x.js';\n",
      'core/media/writer.ts': "import type { Shell } from '../../server/shell.js';\nexport type W = Shell;\n",
      'recorder/recorder.ts': "export { helper } from '../transforms/helper.js';\nconst shell = await import('../server/shell.js');\n",
      'transforms/helper.ts': "import { log } from '../core/logger.js';\nimport { Recorder } from '../recorder/recorder.js';\nexport const helper = log;\n",
      'server/shell.ts': "import '../cli/main.js';\nexport interface Shell { a: number }\n",
    });
    const problems = layeringProblems(new ImportGraph({ root }));
    expect(problems.serverImports).toEqual([
      "core/media/writer.ts imports '../../server/shell.js'",
      "recorder/recorder.ts imports '../server/shell.js'",
    ]);
    expect(problems.coreLeaves).toEqual(["core/media/writer.ts imports '../../server/shell.js'"]);
    expect(problems.shellImportsCli).toEqual(["server/shell.ts imports '../cli/main.js'"]);
    expect(problems.cycles).toContain(
      "recorder -> transforms -> recorder: recorder/recorder.ts imports '../transforms/helper.js'; transforms/helper.ts imports '../recorder/recorder.js'",
    );
    // The circles through the shell are found too, each naming the import that closes it.
    expect(problems.cycles).toContain("cli -> server -> cli: cli/main.ts imports '../server/shell.js'; server/shell.ts imports '../cli/main.js'");
  });
});
