import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { debounce } from './debounce.js';
import { isManifestFileName, ManifestPathError } from './load.js';

export interface ManifestWatch {
  close(): void;
}

export interface WatchOptions {
  /** Quiet time after the last event before `onChange` runs (default 100 ms). */
  debounceMs?: number;
  /**
   * Quiet time instead after an event that put a whole file in place: a rename onto a manifest's
   * name that now holds a non-empty file, or any step of the kubelet's `..data` swap (default 10 ms).
   */
  replacedDebounceMs?: number;
  /** Longest delay after the first event of a burst (default 500 ms). */
  maxDelayMs?: number;
}

/**
 * Calls `onChange` (debounced) when the manifests behind `paths` may have changed; the caller
 * then reloads them with `loadManifests`. Event-driven (fs.watch), no polling.
 *
 * - A directory is watched itself, so files created, removed or renamed in it are seen, and so is
 *   each of its manifest files (a file that is a symlink is followed, so changes to its target are
 *   seen too). Events on other names (editor swap files, `notes.txt`) are ignored, except names
 *   starting with `..`: Kubernetes swaps a mounted ConfigMap by renaming `..data`.
 * - A file is watched itself and through its directory (events for its name only), so an editor
 *   that saves by writing a new file and renaming it over the old one is seen, and so is a file
 *   deleted and created again.
 * - After every burst the watches on files are armed again (a replaced file is a new inode), before
 *   `onChange` runs.
 * - How long a burst waits for quiet depends on its last event. A file written in place (`change`)
 *   may still be half written, so that waits `debounceMs`. A file renamed over a manifest's name (a
 *   temp file renamed, as editors, `kubectl cp`-style tools and the kubelet's ConfigMap volumes do)
 *   is whole the moment it appears, so that waits only `replacedDebounceMs`, enough to take the few
 *   events of one rename together. A name that is gone or empty after its event (deleted; created
 *   and not written yet) waits `debounceMs`, as a file may be written there next.
 * Limits: subdirectories are not watched (they are not read either); a watched directory that is
 * removed is watched again only when it exists at the next event from another watch.
 * Throws ManifestPathError for a path that does not exist.
 */
export function watchManifests(paths: readonly string[], onChange: () => void, options: WatchOptions = {}): ManifestWatch {
  /** Directory → the names in it that matter: every manifest file, or only some (explicit files). */
  const dirs = new Map<string, 'all' | Set<string>>();
  const explicitFiles = new Set<string>();
  for (const p of paths) {
    const abs = resolve(p);
    let isDir: boolean;
    try {
      isDir = statSync(abs).isDirectory();
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new ManifestPathError(
        err.code === 'ENOENT' ? `manifest path ${JSON.stringify(p)} does not exist: give a YAML file or a directory of them` : `cannot watch ${JSON.stringify(p)}: ${err.message}`,
      );
    }
    if (isDir) {
      dirs.set(abs, 'all');
      continue;
    }
    explicitFiles.add(abs);
    const dir = dirname(abs);
    const current = dirs.get(dir);
    if (current === 'all') continue;
    const names = current ?? new Set<string>();
    names.add(basename(abs));
    dirs.set(dir, names);
  }

  let closed = false;
  const dirWatchers = new Map<string, FSWatcher>();
  let fileWatchers: FSWatcher[] = [];

  const replacedQuiet = options.replacedDebounceMs ?? 10;
  const debouncer = debounce(
    () => {
      if (closed) return;
      armDirs(false);
      armFiles();
      onChange();
    },
    options.debounceMs ?? 100,
    options.maxDelayMs ?? 500,
  );

  /** The quiet time after `event` on `path` (see the top): short when a whole file was put in place. */
  const quietAfter = (event: string, path: string | undefined): number | undefined => {
    if (event !== 'rename' || path === undefined) return undefined;
    if (basename(path).startsWith('..')) return replacedQuiet; // the kubelet's swap: every step consistent
    try {
      const st = statSync(path);
      return st.isFile() && st.size > 0 ? replacedQuiet : undefined;
    } catch {
      return undefined;
    }
  };

  const matters = (dir: string, filename: string | Buffer | null): boolean => {
    if (filename === null) return true; // the platform did not say which name
    const name = filename.toString();
    if (name.startsWith('..')) return true;
    const wanted = dirs.get(dir);
    return wanted === 'all' ? isManifestFileName(name) : wanted?.has(name) === true;
  };

  function armDirs(initial: boolean): void {
    for (const dir of dirs.keys()) {
      if (dirWatchers.has(dir)) continue;
      let w: FSWatcher;
      try {
        w = watch(dir, (event, filename) => {
          if (matters(dir, filename)) debouncer.trigger(quietAfter(event, filename === null ? undefined : join(dir, filename.toString())));
        });
      } catch (e) {
        if (initial) {
          closeAll();
          throw new ManifestPathError(`cannot watch directory ${JSON.stringify(dir)}: ${(e as Error).message}`);
        }
        continue; // gone for now; tried again after the next event
      }
      w.on('error', () => {
        w.close();
        dirWatchers.delete(dir);
        debouncer.trigger();
      });
      dirWatchers.set(dir, w);
    }
  }

  function armFiles(): void {
    for (const w of fileWatchers) w.close();
    fileWatchers = [];
    const files = new Set(explicitFiles);
    for (const [dir, wanted] of dirs) {
      if (wanted !== 'all') continue;
      let names: string[];
      try {
        names = readdirSync(dir).filter(isManifestFileName);
      } catch {
        continue;
      }
      for (const n of names) files.add(join(dir, n));
    }
    for (const file of files) {
      try {
        if (!statSync(file).isFile()) continue;
        const w = watch(file, (event) => debouncer.trigger(quietAfter(event, file)));
        w.on('error', () => {
          w.close();
          debouncer.trigger();
        });
        fileWatchers.push(w);
      } catch {
        // Removed since: its directory's watch sees it come back.
      }
    }
  }

  function closeAll(): void {
    closed = true;
    debouncer.cancel();
    for (const w of dirWatchers.values()) w.close();
    dirWatchers.clear();
    for (const w of fileWatchers) w.close();
    fileWatchers = [];
  }

  armDirs(true);
  armFiles();
  return { close: closeAll };
}
