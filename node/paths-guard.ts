// The one check every command runs before any work: no output may be one of its inputs or a shipped model
// file. Two paths are "the same" when they resolve to the same place (realpath, also for outputs that do
// not exist yet) or, for existing files, when they are the same inode (dev, ino): hard links included.
// Outputs must also differ from each other and must not be empty. (docs/reliability.md)
import { existsSync, lstatSync, readdirSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { requireOutputPath } from "./files.js";

export interface NamedPath {
  /** the path as given */
  path: string;
  /** the option or role that named it, e.g. "--stats", "--out", "tokens file" */
  what: string;
}

export interface GuardSpec {
  inputs?: readonly (NamedPath | undefined)[];
  outputs: readonly (NamedPath | undefined)[];
  /** model folders: nothing inside may be written, and no output may be a hard link to a file in them */
  modelDirs?: readonly (string | undefined)[];
}

/** Where `p` would be: realpath of the deepest existing ancestor + the rest (symlinks in folders resolved). */
export function resolvedLocation(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(resolvedLocation(parent), basename(abs));
  }
}

const inodeKey = (p: string): string | null => {
  try {
    const st = statSync(p);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
};

/** (dev, ino) of every file under `dir` (recursive; the model folder is small), keyed to its path. */
function inodesUnder(dir: string, into: Map<string, string>, depth = 0): void {
  if (depth > 8) return;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const f of entries) {
    const p = join(dir, f);
    let isDir = false;
    try {
      isDir = lstatSync(p).isDirectory();
    } catch {
      continue;
    }
    if (isDir) inodesUnder(p, into, depth + 1);
    else {
      const k = inodeKey(p);
      if (k) into.set(k, p);
    }
  }
}

const within = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith(sep) ? dir : dir + sep);

/** Throw one line naming both paths when an output would overwrite an input, a model file or another output. */
export function guardOutputs(spec: GuardSpec): void {
  const outputs = spec.outputs.filter((o): o is NamedPath => o !== undefined);
  const inputs = (spec.inputs ?? []).filter((i): i is NamedPath => i !== undefined && i.path !== "");
  for (const o of outputs) requireOutputPath(o.path, o.what);
  const modelDirs = (spec.modelDirs ?? []).filter((d): d is string => !!d && existsSync(d)).map((d) => resolvedLocation(d));
  const modelInodes = new Map<string, string>();
  for (const d of modelDirs) inodesUnder(d, modelInodes);
  const seen: { o: NamedPath; loc: string; ino: string | null }[] = [];
  for (const o of outputs) {
    const loc = resolvedLocation(o.path);
    const ino = inodeKey(o.path);
    for (const i of inputs) {
      if (loc === resolvedLocation(i.path) || (ino !== null && ino === inodeKey(i.path)))
        throw new Error(`${o.what} ${o.path} is the input ${i.what} ${i.path}: refusing to overwrite an input (choose another output path)`);
    }
    const named = join(resolvedLocation(dirname(resolve(o.path))), basename(o.path)); // the link itself, if it is one
    for (const d of modelDirs) {
      if (within(named, d) || within(loc, d))
        throw new Error(`${o.what} ${o.path} is inside the model folder ${d}: refusing to write over shipped model files`);
    }
    if (ino !== null && modelInodes.has(ino))
      throw new Error(
        `${o.what} ${o.path} is the model file ${modelInodes.get(ino)} (a hard link or symlink to it): refusing to write over shipped model files`,
      );
    for (const s of seen) {
      if (loc === s.loc || (ino !== null && ino === s.ino))
        throw new Error(`${o.what} ${o.path} and ${s.o.what} ${s.o.path} are the same file: give them different paths`);
    }
    seen.push({ o, loc, ino });
  }
}
