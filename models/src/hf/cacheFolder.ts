import * as fs from 'node:fs';
import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';

/** A commit hash or tag as huggingface_hub names snapshot folders: one plain path component. */
const SNAPSHOT_NAME = /^[A-Za-z0-9._-]+$/;

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The folder that holds a checkpoint's files. A Hugging Face hub cache entry
 * (`models--org--name/` with `refs/` and `snapshots/`, as `huggingface_hub` downloads it)
 * resolves `refs/<revision>` to `snapshots/<commit>/`; a revision that is not a ref is taken as
 * a snapshot name (a commit hash). Any other folder is returned as it is.
 *
 * @example resolveCheckpointFolder('~/.cache/huggingface/hub/models--gpt2') // '…/models--gpt2/snapshots/607a30d…'
 */
export function resolveCheckpointFolder(dir: string, revision = 'main'): string {
  const snapshots = path.join(dir, 'snapshots');
  if (!isDirectory(snapshots) || fs.existsSync(path.join(dir, 'config.json'))) return dir;
  const available = fs.readdirSync(snapshots).filter((name) => isDirectory(path.join(snapshots, name)));
  const refFile = path.join(dir, 'refs', revision);
  let commit = revision;
  if (SNAPSHOT_NAME.test(revision) && fs.existsSync(refFile)) commit = fs.readFileSync(refFile, 'utf8').trim();
  const hint = available.length ? `snapshots present: ${available.join(', ')}` : 'the snapshots folder is empty';
  if (!SNAPSHOT_NAME.test(commit) || commit === '.' || commit === '..') {
    throw new SwapformerError('invalid-checkpoint', `${refFile} holds ${JSON.stringify(commit.slice(0, 80))}, not a snapshot name (${hint}).`, { path: refFile });
  }
  const folder = path.join(snapshots, commit);
  if (!isDirectory(folder)) {
    const ref = commit === revision ? `neither refs/${revision} nor snapshots/${revision} exists` : `refs/${revision} points to ${commit}, which is not downloaded`;
    throw new SwapformerError('invalid-checkpoint', `Hugging Face cache folder "${dir}": ${ref} (${hint}).\n  Pass a snapshot folder directly, or download the model again.`, { path: dir });
  }
  return folder;
}
