import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** One relative import between two of our source files, with the top-level folder of each side. */
export interface ImportEdge {
  /** Importing file, relative to the root (forward slashes). */
  file: string;
  /** The specifier as written. */
  specifier: string;
  /** Imported file, relative to the root. */
  target: string;
  fromFolder: string;
  toFolder: string;
}

export interface ImportGraphOptions {
  /** The repository root (or any tree laid out like it). */
  root: string;
  /** Folder names never read (build output, packages). */
  skip?: readonly string[];
}

/**
 * The relative imports of every .ts file under a tree, read from the source text (static, dynamic,
 * `import type` and `export … from` alike), and the graph of top-level folders they form.
 */
export class ImportGraph {
  readonly edges: readonly ImportEdge[];
  private readonly root: string;
  private readonly skip: ReadonlySet<string>;

  constructor(options: ImportGraphOptions) {
    this.root = path.resolve(options.root);
    this.skip = new Set(options.skip ?? ['node_modules', 'dist', '.git']);
    this.edges = this.sourceFiles(this.root).flatMap((file) => this.importsOf(file));
  }

  /** Edges whose importing file sits in one of `fromFolders` and whose target sits in one of `toFolders`. */
  between(fromFolders: readonly string[], toFolders: readonly string[]): ImportEdge[] {
    return this.edges.filter((edge) => fromFolders.includes(edge.fromFolder) && toFolders.includes(edge.toFolder));
  }

  /** Edges from `folder` to any other top-level folder. */
  leaving(folder: string): ImportEdge[] {
    return this.edges.filter((edge) => edge.fromFolder === folder && edge.toFolder !== folder);
  }

  /**
   * Every cycle between top-level folders, each as its folder path (first folder repeated at the end)
   * with one witnessing import per step, so a failure names the files to look at.
   */
  folderCycles(): { folders: string[]; witnesses: string[] }[] {
    const next = new Map<string, Map<string, ImportEdge>>();
    for (const edge of this.edges) {
      if (edge.fromFolder === edge.toFolder) continue;
      const targets = next.get(edge.fromFolder) ?? new Map<string, ImportEdge>();
      if (!targets.has(edge.toFolder)) targets.set(edge.toFolder, edge);
      next.set(edge.fromFolder, targets);
    }
    const cycles: { folders: string[]; witnesses: string[] }[] = [];
    const seen = new Set<string>();
    const walk = (start: string, at: string, trail: string[]): void => {
      for (const to of next.get(at)?.keys() ?? []) {
        if (to === start) {
          const folders = [...trail, to];
          const key = [...trail].sort().join('>');
          if (seen.has(key)) continue;
          seen.add(key);
          const witnesses = folders.slice(0, -1).map((from, index) => {
            const witness = next.get(from)?.get(folders[index + 1]!);
            return witness ? `${witness.file} imports '${witness.specifier}'` : `${from} -> ${folders[index + 1]}`;
          });
          cycles.push({ folders, witnesses });
        } else if (!trail.includes(to)) {
          walk(start, to, [...trail, to]);
        }
      }
    };
    for (const folder of next.keys()) walk(folder, folder, [folder]);
    return cycles;
  }

  private sourceFiles(dir: string): string[] {
    const files: string[] = [];
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (this.skip.has(entry.name)) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) files.push(...this.sourceFiles(full));
      else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(full);
    }
    return files;
  }

  private importsOf(file: string): ImportEdge[] {
    // TypeScript's own pre-processor finds every specifier (type-only and dynamic ones too) and skips comments and strings.
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const relativeFile = this.relative(file);
    const edges: ImportEdge[] = [];
    for (const imported of info.importedFiles) {
      const specifier = imported.fileName;
      if (!specifier.startsWith('./') && !specifier.startsWith('../')) continue;
      const target = this.relative(path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts')));
      if (target.startsWith('../')) continue;
      edges.push({ file: relativeFile, specifier, target, fromFolder: topFolder(relativeFile), toFolder: topFolder(target) });
    }
    return edges;
  }

  private relative(file: string): string {
    return path.relative(this.root, file).split(path.sep).join('/');
  }
}

/** The first path segment; a file at the root counts as its own folder ('.'). */
function topFolder(relativePath: string): string {
  const slash = relativePath.indexOf('/');
  return slash === -1 ? '.' : relativePath.slice(0, slash);
}
