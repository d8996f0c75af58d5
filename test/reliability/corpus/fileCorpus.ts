/**
 * Config *paths* that are not readable JSON files: missing, directories, FIFOs (opening one
 * would block forever), devices, link loops, sparse huge files, names the OS refuses.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExpectedError } from './MalformedCase';

export interface FileCase {
  readonly id: string;
  readonly category: 'config-files';
  readonly title: string;
  /** Creates whatever the case needs inside `dir` and returns the path to hand to the reader. */
  make(dir: string): string;
  readonly expect: ExpectedError;
}

const io = (...includes: string[]): ExpectedError => ({ kind: 'io', includes });

const CASES: ReadonlyArray<Omit<FileCase, 'id' | 'category'>> = [
  { title: 'missing file', make: (d) => path.join(d, 'nope.json'), expect: io('no such file') },
  { title: 'missing parent directory', make: (d) => path.join(d, 'no/such/dir/config.json'), expect: io('no such file') },
  { title: 'a file used as a directory', make: (d) => (fs.writeFileSync(path.join(d, 'plain'), '{}'), path.join(d, 'plain/config.json')), expect: io('a parent of it is not a directory') },
  { title: 'a directory', make: (d) => (fs.mkdirSync(path.join(d, 'dir.json')), path.join(d, 'dir.json')), expect: io('it is a directory') },
  { title: 'a FIFO (would block on open)', make: (d) => (execFileSync('mkfifo', [path.join(d, 'fifo.json')]), path.join(d, 'fifo.json')), expect: io('not a regular file') },
  { title: '/dev/zero (endless device)', make: () => '/dev/zero', expect: io('not a regular file') },
  { title: 'a link to /dev/urandom', make: (d) => (fs.symlinkSync('/dev/urandom', path.join(d, 'random.json')), path.join(d, 'random.json')), expect: io('not a regular file') },
  { title: 'a symbolic link loop', make: (d) => (fs.symlinkSync(path.join(d, 'loop-b.json'), path.join(d, 'loop-a.json')), fs.symlinkSync(path.join(d, 'loop-a.json'), path.join(d, 'loop-b.json')), path.join(d, 'loop-a.json')), expect: io('too many symbolic links') },
  { title: 'a dangling link', make: (d) => (fs.symlinkSync(path.join(d, 'gone.json'), path.join(d, 'dangling.json')), path.join(d, 'dangling.json')), expect: io('no such file') },
  { title: 'a path of 5,000 characters', make: (d) => path.join(d, `${'x'.repeat(5000)}.json`), expect: io('the path is too long') },
  { title: 'a path with a NUL byte', make: (d) => path.join(d, 'con\u0000fig.json'), expect: io('not a usable file path') },
  {
    title: 'a sparse 8 GiB file (refused before reading)',
    make: (d) => {
      const file = path.join(d, 'huge.json');
      fs.closeSync(fs.openSync(file, 'w'));
      fs.truncateSync(file, 2 ** 33);
      return file;
    },
    expect: { kind: 'invalid-config', includes: ['is 8589934592 bytes; config files are limited to 8388608 bytes'] },
  },
];

/** Every file case with stable ids. */
export function fileCorpus(): FileCase[] {
  return CASES.map((c, i) => ({ ...c, id: `config-files/${String(i + 1).padStart(3, '0')}-${c.title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48)}`, category: 'config-files' }));
}
