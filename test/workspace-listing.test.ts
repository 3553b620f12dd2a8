// Which files the packer sees: git's view inside a work tree (tracked plus
// untracked-but-not-ignored), a .gitignore-honouring walk elsewhere; links,
// submodules and special files; folders that are missing or unreadable.
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { AbortError } from '../server/src/engine/errors';
import { listWorkspaceFiles, packWorkspace, WorkspaceError } from '../server/src/workspace';
import { rejectsWith } from './helpers/async-helpers';
import { useTempDir } from './helpers/temp-dir';
import { wordTokenizer } from './helpers/workspace-fake-tokenizers';
import { freshFolder, git, gitCommitAll, gitInit, permissionsAreIgnored, writeFiles } from './helpers/workspace-fixture-repo';

const paths = (listing: { files: { path: string }[] }): string[] => listing.files.map((f) => f.path);
const reasons = (listing: { leftOut: { path: string; reason: string; detail?: string }[] }): Record<string, string> =>
  Object.fromEntries(listing.leftOut.map((l) => [l.path, `${l.reason}: ${l.detail ?? ''}`]));

describe('workspace listing', function () {
  this.timeout(60_000);
  const tempDir = useTempDir('workspace-listing');

  describe('inside a git work tree', () => {
    let repo: string;
    before(() => {
      repo = freshFolder(tempDir(), 'git');
      gitInit(repo);
      writeFiles(repo, {
        '.gitignore': '*.log\nbuild/\n!keep.log\n',
        'src/main.ts': 'export const a = 1;\n',
        'src/old.ts': 'gone\n',
        'src/.gitignore': 'generated-*.ts\n',
        'src/generated-x.ts': 'x\n',
        'keep.log': 'kept by a negation\n',
        'debug.log': 'ignored\n',
        'build/out.js': 'ignored folder\n',
        'docs/notes with space.md': '# notes\n',
        'tracked-then-ignored.log': 'tracked files stay listed even when a rule matches them\n',
      });
      git(repo, 'add', '-A');
      git(repo, 'add', '-f', 'tracked-then-ignored.log');
      git(repo, 'commit', '-q', '-m', 'fixture');
      // Untracked, not ignored: listed. Deleted but still tracked: not listed.
      writeFiles(repo, { 'src/untracked.ts': 'new\n' });
      fs.rmSync(path.join(repo, 'src/old.ts'));
    });

    it('walks a folder the repository itself ignores, since git lists nothing there', async () => {
      const listing = await listWorkspaceFiles(path.join(repo, 'build'));
      assert.strictEqual(listing.source, 'walk');
      assert.deepStrictEqual(paths(listing), ['out.js']);
    });

    it('lists tracked and untracked files, honours nested .gitignore files, and skips deleted ones', async () => {
      const listing = await listWorkspaceFiles(repo);
      assert.strictEqual(listing.source, 'git');
      assert.strictEqual(listing.root, repo);
      assert.deepStrictEqual(paths(listing), [
        '.gitignore',
        'docs/notes with space.md',
        'keep.log',
        'src/.gitignore',
        'src/main.ts',
        'src/untracked.ts',
        'tracked-then-ignored.log',
      ]);
      assert.deepStrictEqual(listing.leftOut, []);
    });

    it('lists a subfolder of a repository relative to that subfolder', async () => {
      const listing = await listWorkspaceFiles(path.join(repo, 'src'));
      assert.strictEqual(listing.source, 'git');
      assert.deepStrictEqual(paths(listing), ['.gitignore', 'main.ts', 'untracked.ts']);
    });

    it('reports sizes and modification times from the file system', async () => {
      const listing = await listWorkspaceFiles(repo);
      const main = listing.files.find((f) => f.path === 'src/main.ts');
      assert.ok(main);
      const stats = fs.statSync(path.join(repo, 'src/main.ts'));
      assert.strictEqual(main.size, stats.size);
      assert.strictEqual(main.mtimeMs, stats.mtimeMs);
      assert.strictEqual(main.absolutePath, path.join(repo, 'src', 'main.ts'));
    });

    it('lists submodules and nested repositories as left out, not their files', async () => {
      const outer = freshFolder(tempDir(), 'outer');
      const library = freshFolder(tempDir(), 'library');
      gitInit(library);
      writeFiles(library, { 'lib.ts': 'lib\n' });
      gitCommitAll(library);
      gitInit(outer);
      writeFiles(outer, { 'a.ts': 'a\n' });
      gitCommitAll(outer);
      git(outer, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', library, 'vendor/library');
      gitCommitAll(outer);
      const nested = path.join(outer, 'scratch');
      fs.mkdirSync(nested);
      gitInit(nested);
      writeFiles(nested, { 'inner.ts': 'inner\n' });

      const listing = await listWorkspaceFiles(outer);
      assert.deepStrictEqual(paths(listing), ['.gitmodules', 'a.ts']);
      assert.deepStrictEqual(reasons(listing), {
        scratch: 'excluded: a separate git repository inside the folder: its files are not packed',
        'vendor/library': 'excluded: git submodule: its files are not packed',
      });
    });

    it("refuses the 'git' listing for a plain folder", async () => {
      const plain = freshFolder(tempDir(), 'not-git');
      await rejectsWith(listWorkspaceFiles(plain, 'git'), WorkspaceError, /not inside a git work tree/);
    });
  });

  describe('outside git', () => {
    let plain: string;
    before(() => {
      plain = freshFolder(tempDir(), 'plain');
      writeFiles(plain, {
        '.gitignore': '*.tmp\n/only-at-root.txt\ncache/\n',
        'a.ts': 'a\n',
        'x.tmp': 'ignored\n',
        'only-at-root.txt': 'ignored at the root only\n',
        'cache/data.txt': 'ignored folder\n',
        'sub/only-at-root.txt': 'kept: the rule is anchored to the root\n',
        'sub/y.tmp': 'ignored by the parent rule\n',
        'sub/.gitignore': '!y.tmp\nlocal.txt\n',
        'sub/local.txt': 'ignored by the nested rule\n',
        'sub/deeper/local.txt': 'ignored: nested rules apply to the whole subtree\n',
        'sub/deeper/z.ts': 'z\n',
        'other/local.txt': 'kept: the nested rule does not reach here\n',
        '.git': 'gitdir: /nowhere\n',
        '.github/workflows/ci.yml': 'on: push\n',
      });
    });

    it('walks the folder and applies each .gitignore to its own subtree, later rules winning', async () => {
      const listing = await listWorkspaceFiles(plain);
      assert.strictEqual(listing.source, 'walk');
      assert.deepStrictEqual(paths(listing), [
        '.github/workflows/ci.yml',
        '.gitignore',
        'a.ts',
        'other/local.txt',
        'sub/.gitignore',
        'sub/deeper/z.ts',
        'sub/only-at-root.txt',
        'sub/y.tmp',
      ]);
      assert.deepStrictEqual(listing.leftOut, []);
    });

    it('agrees with git on a tree of ignore rules (the same tree listed both ways)', async () => {
      const root = freshFolder(tempDir(), 'walk-vs-git');
      writeFiles(root, {
        '.gitignore': '# comment\n*.o\n!important.o\n/dist\nlogs/**\n!logs/keep/\n!logs/keep/**\n**/tmp-*\ndocs/*.pdf.txt\nname with space.txt\n\\#hash.txt\n',
        'a.c': 'a\n', 'a.o': 'o\n', 'important.o': 'o\n', 'lib/b.o': 'o\n', 'lib/important.o': 'o\n',
        'dist/x.js': 'x\n', 'src/dist/y.js': 'y\n',
        'logs/a.txt': 'l\n', 'logs/keep/b.txt': 'k\n',
        'src/tmp-1.ts': 't\n', 'tmp-2.ts': 't\n', 'src/deep/er/tmp-3/z.ts': 'z\n',
        'docs/a.pdf.txt': 'p\n', 'docs/sub/b.pdf.txt': 'p\n',
        'name with space.txt': 's\n', '#hash.txt': 'h\n', 'Readme.MD': 'r\n',
        'pkg/.gitignore': '*.ts\n!index.ts\nfixtures/\n', 'pkg/index.ts': 'i\n', 'pkg/other.ts': 'o\n', 'pkg/fixtures/f.json': '{}\n', 'pkg/sub/more.ts': 'm\n',
      });
      const walked = await listWorkspaceFiles(root, 'walk');
      gitInit(root);
      const viaGit = await listWorkspaceFiles(root, 'git');
      assert.deepStrictEqual(paths(walked), paths(viaGit));
      assert.ok(paths(walked).includes('logs/keep/b.txt') && paths(walked).includes('src/dist/y.js'));
    });

    it('walks a git repository too when asked to', async () => {
      const repo = freshFolder(tempDir(), 'walked-git');
      gitInit(repo);
      writeFiles(repo, { '.gitignore': 'out/\n', 'a.ts': 'a\n', 'out/b.js': 'b\n' });
      const listing = await listWorkspaceFiles(repo, 'walk');
      assert.strictEqual(listing.source, 'walk');
      assert.deepStrictEqual(paths(listing), ['.gitignore', 'a.ts']);
    });
  });

  describe('symbolic links and special files', () => {
    for (const mode of ['walk', 'git'] as const) {
      it(`never follows links and says where each points (${mode})`, async () => {
        const root = freshFolder(tempDir(), `links-${mode}`);
        const outside = freshFolder(tempDir(), 'outside');
        writeFiles(outside, { 'secret-ish.txt': 'outside the folder\n' });
        writeFiles(root, { 'src/real.ts': 'real\n' });
        fs.symlinkSync('src/real.ts', path.join(root, 'inside-link.ts'));
        fs.symlinkSync(path.join(outside, 'secret-ish.txt'), path.join(root, 'outside-link.txt'));
        fs.symlinkSync(outside, path.join(root, 'outside-folder'));
        fs.symlinkSync('.', path.join(root, 'src', 'loop'));
        fs.symlinkSync('missing.ts', path.join(root, 'broken.ts'));
        fs.symlinkSync('self-a', path.join(root, 'self-b'));
        fs.symlinkSync('self-b', path.join(root, 'self-a'));
        if (mode === 'git') {
          gitInit(root);
          gitCommitAll(root);
        }
        const listing = await listWorkspaceFiles(root, mode);
        assert.deepStrictEqual(paths(listing), ['src/real.ts']);
        assert.deepStrictEqual(reasons(listing), {
          'broken.ts': 'unreadable: broken symbolic link',
          'inside-link.ts': 'excluded: symbolic link to src/real.ts: links are not followed',
          'outside-folder': 'excluded: symbolic link to a location outside the folder: links are not followed',
          'outside-link.txt': 'excluded: symbolic link to a location outside the folder: links are not followed',
          'self-a': 'unreadable: symbolic link loop',
          'self-b': 'unreadable: symbolic link loop',
          'src/loop': 'excluded: symbolic link to src: links are not followed',
        });
      });
    }

    it('works when the folder itself is reached through a link', async () => {
      const real = freshFolder(tempDir(), 'real-root');
      writeFiles(real, { 'a.ts': 'a\n' });
      fs.symlinkSync('a.ts', path.join(real, 'b.ts'));
      const link = path.join(tempDir(), `root-link-${Date.now()}`);
      fs.symlinkSync(real, link);
      const listing = await listWorkspaceFiles(link, 'walk');
      assert.deepStrictEqual(paths(listing), ['a.ts']);
      assert.deepStrictEqual(reasons(listing), { 'b.ts': 'excluded: symbolic link to a.ts: links are not followed' });
    });

    it('lists a FIFO as unreadable instead of blocking on it', async () => {
      const root = freshFolder(tempDir(), 'fifo');
      writeFiles(root, { 'a.ts': 'a\n' });
      execFileSync('mkfifo', [path.join(root, 'pipe')]);
      const packed = await packWorkspace(root, wordTokenizer, { listing: 'walk' });
      assert.deepStrictEqual(packed.blocks.map((b) => b.path), ['a.ts']);
      assert.deepStrictEqual(packed.leftOut, [{ path: 'pipe', reason: 'unreadable', detail: 'not a regular file (a FIFO, socket or device)' }]);
    });
  });

  describe('folders that cannot be packed', () => {
    it('names a missing folder and what to do', async () => {
      const missing = path.join(tempDir(), 'does-not-exist');
      const error = await rejectsWith(packWorkspace(missing, wordTokenizer), WorkspaceError, /does not exist/);
      assert.strictEqual(error.code, 'FOLDER_MISSING');
      assert.ok(error.message.includes(missing), error.message);
      assert.match(error.message, /Open an existing folder/);
    });

    it('names a file given as the folder', async () => {
      const file = path.join(tempDir(), 'a-file.txt');
      fs.writeFileSync(file, 'not a folder\n');
      const error = await rejectsWith(packWorkspace(file, wordTokenizer), WorkspaceError, /is a file, not a folder/);
      assert.strictEqual(error.code, 'NOT_A_FOLDER');
      assert.ok(error.message.includes(file));
    });

    it('names a folder without read permission', async function () {
      if (permissionsAreIgnored(tempDir())) {
        console.log('      (skipped: this process runs with permissions ignored, as root does, so chmod 000 cannot block reads)');
        this.skip();
      }
      const locked = freshFolder(tempDir(), 'locked');
      writeFiles(locked, { 'a.ts': 'a\n' });
      fs.chmodSync(locked, 0o000);
      try {
        const error = await rejectsWith(packWorkspace(locked, wordTokenizer), WorkspaceError, /permission denied/);
        assert.strictEqual(error.code, 'FOLDER_UNREADABLE');
        assert.ok(error.message.includes(locked));
      } finally {
        fs.chmodSync(locked, 0o700);
      }
    });

    it('lists an unreadable subfolder as left out (where permissions apply)', async function () {
      if (permissionsAreIgnored(tempDir())) {
        console.log('      (skipped: this process runs with permissions ignored, as root does, so chmod 000 cannot block reads)');
        this.skip();
      }
      const root = freshFolder(tempDir(), 'locked-sub');
      writeFiles(root, { 'a.ts': 'a\n', 'private/b.ts': 'b\n' });
      fs.chmodSync(path.join(root, 'private'), 0o000);
      try {
        const listing = await listWorkspaceFiles(root, 'walk');
        assert.deepStrictEqual(paths(listing), ['a.ts']);
        assert.deepStrictEqual(listing.leftOut.map((l) => [l.path, l.reason]), [['private', 'unreadable']]);
      } finally {
        fs.chmodSync(path.join(root, 'private'), 0o700);
      }
    });
  });

  describe('cancellation', () => {
    for (const mode of ['walk', 'git'] as const) {
      it(`stops listing with an AbortError (${mode})`, async () => {
        const root = freshFolder(tempDir(), `abort-${mode}`);
        writeFiles(root, { 'a.ts': 'a\n' });
        if (mode === 'git') gitInit(root);
        const controller = new AbortController();
        controller.abort();
        await rejectsWith(listWorkspaceFiles(root, mode, controller.signal), AbortError);
        const late = new AbortController();
        const pending = listWorkspaceFiles(root, mode, late.signal);
        late.abort();
        await rejectsWith(pending, AbortError);
      });
    }
  });
});
