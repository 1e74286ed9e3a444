import { lstatSync, mkdirSync } from 'node:fs';

/**
 * A directory only this process's user can write, made (mode 0700) when missing. One that is a symbolic link, is
 * owned by another user, or is writable by group or others is refused: another local user could swap what we put
 * there.
 */
export function privateDir(path: string): string {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const stat = lstatSync(path);
  const uid = process.getuid?.();
  const refuse = (why: string) => new Error(`refusing to use ${path} for the admin socket: ${why}; remove it, or use a shorter QALQAN_DATA_DIR`);
  if (stat.isSymbolicLink() || !stat.isDirectory()) throw refuse('it is not a directory');
  if (uid !== undefined && stat.uid !== uid) throw refuse(`it is owned by uid ${stat.uid}, not by this user (uid ${uid})`);
  if ((stat.mode & 0o022) !== 0) throw refuse(`it is writable by others (mode ${(stat.mode & 0o777).toString(8)})`);
  return path;
}
