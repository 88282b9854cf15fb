import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Another commit of this repository, checked out and compiled on the side, to be run beside this build. */
export interface OtherBuild {
  /** Short commit id. */
  commit: string;
  subject: string;
  /** Its `kumo` entry point (dist/kumo.mjs, or dist/src/cli/main.js before the bundle). */
  main: string;
  remove(): void;
}

function git(args: string[], cwd?: string): string {
  const result = spawnSync('git', args, { encoding: 'utf8', ...(cwd ? { cwd } : {}) });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout.trim();
}

/** The parent of the commit that first added `path`: the tree just before a change, whatever has been merged since. */
export function commitBefore(path: string): string | undefined {
  const added = git(['log', '--diff-filter=A', '--format=%H', '--', path]).split('\n').filter(Boolean).at(-1);
  return added ? `${added}^` : undefined;
}

/**
 * Checks `ref` out into a temporary git worktree (detached: no branch is touched) and compiles
 * it with this checkout's node_modules. `remove()` deletes the worktree again.
 */
export function buildOtherCommit(ref: string): OtherBuild {
  const commit = git(['rev-parse', '--short', `${ref}^{commit}`]);
  const subject = git(['log', '-1', '--format=%s', commit]);
  const dir = mkdtempSync(join(tmpdir(), `kumo-build-${commit}-`));
  git(['worktree', 'add', '--detach', dir, commit]);
  const remove = () => {
    spawnSync('git', ['worktree', 'remove', '--force', dir], { encoding: 'utf8' });
    rmSync(dir, { recursive: true, force: true });
    spawnSync('git', ['worktree', 'prune'], { encoding: 'utf8' });
  };
  try {
    const modules = realpathSync('node_modules');
    symlinkSync(modules, join(dir, 'node_modules'));
    const tsc = spawnSync(process.execPath, [join(modules, 'typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, encoding: 'utf8' });
    if (tsc.status !== 0) throw new Error(`building ${commit} failed:\n${(tsc.stdout + tsc.stderr).slice(-4000)}`);
    // Builds from before the bundle run the compiled tree; later ones what `npm start` runs.
    if (!existsSync(join(dir, 'scripts/bundle.mjs'))) return { commit, subject, main: join(dir, 'dist/src/cli/main.js'), remove };
    const bundle = spawnSync(process.execPath, ['scripts/bundle.mjs'], { cwd: dir, encoding: 'utf8' });
    if (bundle.status !== 0) throw new Error(`bundling ${commit} failed:\n${(bundle.stdout + bundle.stderr).slice(-4000)}`);
    return { commit, subject, main: join(dir, 'dist/kumo.mjs'), remove };
  } catch (error) {
    remove();
    throw error;
  }
}
