// The one runner of host commands (src/core/host/commands.ts): argument arrays reach the program
// exactly as given (no shell), a timeout kills the process, a namespace run happens inside that
// namespace, failures are CommandErrors that say how the command ended, input goes to stdin,
// and every command is logged at debug.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { CommandError, CommandRunner, runCommand, STDERR_TAIL_BYTES, startProcess } from '../../src/core/host/commands.js';
import { alive } from '../../src/core/host/daemons.js';
import { NetLab, netlabSkipReason } from '../helpers/netlab.js';

const NODE = process.execPath;
/** A node program as an argument array: `node -e CODE ARGS...` (process.argv.slice(1) is ARGS). */
const node = (code: string, ...args: string[]) => [NODE, '-e', code, ...args];
const ECHO_ARGS = 'process.stdout.write(JSON.stringify(process.argv.slice(1)))';

function failure(check: (e: CommandError) => void): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof CommandError, `a CommandError, not ${String(e)}`);
    check(e);
    return true;
  };
}

describe('host command runner', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kumo-commands-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('hands hostile arguments to the program verbatim, never to a shell', async () => {
    const witness = join(dir, 'pwned');
    const hostile = [
      `$(touch ${witness})`,
      `\`touch ${witness}\``,
      `; touch ${witness}`,
      `| touch ${witness}`,
      `&& touch ${witness} &`,
      `> ${witness}`,
      "it's \"quoted\" \\ back",
      '*',
      '~',
      '$HOME ${PATH}',
      'line one\nline two\r\n',
      '  spaced  ',
      '',
      '--',
      '-e',
      'ünïcødé ☁',
    ];
    const out = await runCommand(node(ECHO_ARGS, ...hostile));
    assert.deepEqual(JSON.parse(out), hostile);
    assert.ok(!existsSync(witness), 'no argument was run by a shell');
  });

  it('refuses a NUL byte, an empty command and a bad namespace name before running anything', async () => {
    const runner = new CommandRunner();
    await assert.rejects(async () => runner.run(node(ECHO_ARGS, 'a\0b')), /NUL byte/);
    await assert.rejects(async () => runCommand([]), /needs a program/);
    await assert.rejects(async () => runCommand(['']), /needs a program/);
    for (const bad of ['../x', 'a b', 'a/b', '.', '..', 'x'.repeat(201), '-n']) {
      await assert.rejects(async () => runCommand(['true'], { netns: bad }), /not a namespace name/, bad);
    }
    assert.throws(() => new CommandRunner({ hostNamespace: 'a;b' }), /not a namespace name/);
    assert.equal(runner.count, 0, 'nothing ran');
  });

  it('kills a command that runs past its timeout, and settles only once it is dead', async () => {
    const pidFile = join(dir, 'sleeper.pid');
    const started = Date.now();
    await assert.rejects(
      runCommand(node(`require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); process.stderr.write('going to sleep'); setTimeout(() => {}, 60000)`), { timeoutMs: 1500 }),
      failure((e) => {
        assert.equal(e.failure, 'timeout');
        assert.equal(e.signal, 'SIGKILL');
        assert.equal(e.exitCode, null);
        assert.equal(e.stderr, 'going to sleep');
        assert.match(e.message, /timed out after 1500 ms: going to sleep/);
      }),
    );
    assert.ok(Date.now() - started < 30_000, 'it did not wait for the command');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(pid > 1);
    assert.equal(alive(pid), false, `pid ${pid} is gone`);
  });

  it('turns failures into CommandErrors carrying the command, its exit code or signal and the end of stderr', async () => {
    const long = 'x'.repeat(3 * STDERR_TAIL_BYTES);
    const argv = node(`process.stderr.write(${JSON.stringify(long)} + 'the real reason'); process.exit(3)`);
    await assert.rejects(
      runCommand(argv),
      failure((e) => {
        assert.equal(e.failure, 'exit');
        assert.equal(e.exitCode, 3);
        assert.equal(e.signal, null);
        assert.deepEqual(e.argv, argv);
        assert.equal(e.stderr.length, STDERR_TAIL_BYTES, 'only the tail is kept');
        assert.ok(e.stderr.endsWith('the real reason'));
        assert.ok(e.message.startsWith(`${NODE} -e `), e.message.slice(0, 80));
        assert.ok(e.message.endsWith('the real reason'));
      }),
    );
    await assert.rejects(
      runCommand(node('process.exit(7)')),
      failure((e) => {
        assert.equal(e.exitCode, 7);
        assert.equal(e.stderr, '');
        assert.match(e.message, /: exit 7$/);
      }),
    );
    await assert.rejects(
      runCommand(node("process.kill(process.pid, 'SIGTERM'); setTimeout(() => {}, 10000)")),
      failure((e) => {
        assert.equal(e.failure, 'signal');
        assert.equal(e.signal, 'SIGTERM');
        assert.equal(e.exitCode, null);
        assert.match(e.message, /killed by SIGTERM$/);
      }),
    );
    await assert.rejects(
      runCommand([join(dir, 'no-such-program'), '--version']),
      failure((e) => {
        assert.equal(e.failure, 'not-found');
        assert.match(e.message, /no-such-program not found/);
      }),
    );
    await assert.rejects(
      runCommand(node("process.stdout.write('y'.repeat(1 << 20)); setTimeout(() => {}, 10000)"), { maxOutputBytes: 4096 }),
      failure((e) => {
        assert.equal(e.failure, 'output-limit');
        assert.equal(e.signal, 'SIGKILL');
      }),
    );
  });

  it('resolves with stdout, and tryRun turns a failure into undefined', async () => {
    const runner = new CommandRunner();
    assert.equal(await runner.run(node("process.stdout.write('out'); process.stderr.write('noise')")), 'out');
    assert.equal(await runner.tryRun(node('process.exit(1)')), undefined);
    await assert.rejects(async () => runner.tryRun(node(ECHO_ARGS, '\0')), /NUL byte/, 'a refused command is not a failed one');
    assert.equal(runner.count, 2);
  });

  it('writes input to stdin, and a command has /dev/null there otherwise', async () => {
    const cat = node("process.stdin.pipe(process.stdout)");
    assert.equal(await runCommand(cat, { input: 'link add x\nlink set x up\n' }), 'link add x\nlink set x up\n');
    const big = Buffer.alloc(4 * 1024 * 1024, 'abc');
    assert.equal(await runCommand(cat, { input: big }), big.toString());
    // Without input the command reads end-of-file at once rather than waiting.
    assert.equal(await runCommand(cat, { timeoutMs: 10_000 }), '');
    // A command that exits without reading its input is judged by its exit status, not by the broken pipe.
    assert.equal(await runCommand(node("process.stdout.write('ignored it')"), { input: big }), 'ignored it');
  });

  it('logs every command at debug, with how it ended', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const log = pino({ level: 'debug' }, sink);
    const runner = new CommandRunner({ log });
    await runner.run(node(ECHO_ARGS, 'a'), { input: 'xyz' });
    await runner.tryRun(node('process.exit(4)'));
    assert.equal(lines.length, 2);
    assert.equal(lines[0]!.msg, 'host command');
    assert.equal(lines[0]!.level, 20);
    assert.deepEqual(lines[0]!.command, node(ECHO_ARGS, 'a'));
    assert.equal(lines[0]!.inputBytes, 3);
    assert.equal(typeof lines[0]!.ms, 'number');
    assert.equal(lines[1]!.failure, 'exit');
    assert.equal(lines[1]!.exitCode, 4);
    const quiet: unknown[] = [];
    const info = pino({ level: 'info' }, new Writable({ write: (chunk, _e, done) => (quiet.push(chunk), done()) }));
    await runCommand(node('0'), { log: info });
    assert.equal(quiet.length, 0, 'nothing at info');
  });

  it('starts a long-running process, keeps its stderr tail, and ends it', async () => {
    const child = startProcess(node("process.stderr.write('ready'); setTimeout(() => {}, 60000)"), { niceness: 19 });
    assert.ok(child.pid !== undefined && child.pid > 1);
    await waitFor(() => child.stderrTail() === 'ready');
    assert.equal(child.hasExited, false);
    child.kill();
    const exit = await child.exited;
    assert.equal(exit.signal, 'SIGKILL');
    assert.equal(child.hasExited, true);
    assert.equal(alive(child.pid), false);
    child.kill(); // ended already: nothing happens

    const missing = startProcess([join(dir, 'no-such-daemon')]);
    assert.equal(missing.pid, undefined);
    const why = await missing.exited;
    assert.match(why.error?.message ?? '', /ENOENT/);
  });

  const skip = netlabSkipReason(['ip']);
  describe('inside a network namespace', { skip }, () => {
    const lab = new NetLab();
    let ns: string;
    before(async () => {
      ns = await lab.namespace('runner');
    });
    after(() => lab.cleanup());

    it('runs a command in the named namespace, and a runner\'s host namespace stands for the host', async () => {
      const readNs = ['readlink', '/proc/self/ns/net'];
      const here = (await runCommand(readNs)).trim();
      const inside = (await runCommand(readNs, { netns: ns })).trim();
      assert.match(inside, /^net:\[\d+\]$/);
      assert.notEqual(inside, here);
      const links = JSON.parse(await runCommand(['ip', '-j', 'link', 'show'], { netns: ns })) as Array<{ ifname: string }>;
      assert.deepEqual(links.map((l) => l.ifname), ['lo'], 'a new namespace holds only lo');

      const runner = new CommandRunner({ hostNamespace: ns });
      assert.equal((await runner.run(readNs)).trim(), inside, 'the host namespace by default');
      assert.equal((await runner.run(readNs, { netns: '' })).trim(), here, "'' is the machine itself");
      assert.deepEqual((await runner.ipJson<{ ifname: string }>(['link', 'show'])).map((l) => l.ifname), ['lo']);

      // Hostile arguments stay verbatim through `ip netns exec` too.
      const hostile = ['$(id)', '; ls', "a'b\"c", ''];
      assert.deepEqual(JSON.parse(await runCommand(node(ECHO_ARGS, ...hostile), { netns: ns })), hostile);
      await assert.rejects(
        runCommand(node('process.exit(5)'), { netns: ns }),
        failure((e) => {
          assert.equal(e.exitCode, 5);
          assert.deepEqual(e.argv.slice(0, 4), ['ip', 'netns', 'exec', ns]);
        }),
      );
    });

    it('a timeout inside a namespace kills the command itself', async () => {
      const pidFile = join(dir, 'ns-sleeper.pid');
      await assert.rejects(
        runCommand(node(`require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setTimeout(() => {}, 60000)`), { netns: ns, timeoutMs: 1500 }),
        failure((e) => assert.equal(e.failure, 'timeout')),
      );
      const pid = Number(readFileSync(pidFile, 'utf8'));
      assert.equal(alive(pid), false, `pid ${pid} is gone`);
      assert.equal((await runCommand(['ip', 'netns', 'pids', ns])).trim(), '', 'nothing left in the namespace');
    });
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
