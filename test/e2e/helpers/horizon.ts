// Debian's Horizon (openstack-dashboard, Zed on Debian 12) under Django's development server,
// pointed at a Kumo a test started, and Debian's chromium for playwright-core to drive. The
// dashboard reads a settings module this helper writes into the test's directory, so nothing
// under /etc/openstack-dashboard is changed and no memcached is needed.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanEnv, freePort } from './kumo-process.js';

/** Debian's chromium binary itself (/usr/bin/chromium is a wrapper script that adds flags of its own). */
export const CHROMIUM = '/usr/lib/chromium/chromium';
export const HORIZON_MANAGE = '/usr/share/openstack-dashboard/manage.py';
/** Horizon's Python packages are Debian's, for Debian's interpreter: never the `python3` on PATH. */
const PYTHON = '/usr/bin/python3';

/** `false` when both are installed, otherwise why a browser test of Horizon cannot run (for node:test `skip`). */
export const horizonSkip: false | string = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is not installed (apt-get install chromium)`
  : !existsSync(HORIZON_MANAGE)
    ? `${HORIZON_MANAGE} is not installed (apt-get install openstack-dashboard)`
    : false;

const SETTINGS_MODULE = 'kumo_horizon_settings';

/**
 * Debian's settings (/etc/openstack-dashboard/local_settings.py and its local_settings.d, which
 * openstack_dashboard.settings reads) with what a throw-away dashboard needs on top: Kumo's
 * Keystone, sessions in the process's memory (runserver is one process), a secret of this run, and
 * DEBUG off so that an error is the page a user would get, not Django's debug page.
 */
function settingsModule(keystoneUrl: string): string {
  return [
    'from openstack_dashboard.settings import *  # noqa: F401,F403',
    '',
    `OPENSTACK_HOST = '127.0.0.1'`,
    `OPENSTACK_KEYSTONE_URL = ${JSON.stringify(keystoneUrl)}`,
    `ALLOWED_HOSTS = ['127.0.0.1', 'localhost']`,
    'DEBUG = False',
    `SECRET_KEY = ${JSON.stringify(randomBytes(32).toString('hex'))}`,
    `CACHES = {'default': {'BACKEND': 'django.core.cache.backends.locmem.LocMemCache'}}`,
    `SESSION_ENGINE = 'django.contrib.sessions.backends.cache'`,
    '',
  ].join('\n');
}

export interface HorizonProcess {
  /** e.g. http://127.0.0.1:40123 (Debian's WEBROOT is `/`). */
  url: string;
  /** Everything the dashboard printed so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `manage.py runserver` on a free port in `dir` and resolves once its login page answers
 * 200. `--insecure` lets the development server hand out the static files (Debian's compressed
 * CSS and JavaScript in /var/lib/openstack-dashboard/static) with DEBUG off; `--noreload` keeps it
 * one process, whose pid is the one to stop.
 */
export async function startHorizon(options: { dir: string; keystoneUrl: string; timeoutMs?: number }): Promise<HorizonProcess> {
  mkdirSync(options.dir, { recursive: true });
  writeFileSync(join(options.dir, `${SETTINGS_MODULE}.py`), settingsModule(options.keystoneUrl));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = cleanEnv({ PYTHONPATH: options.dir, DJANGO_SETTINGS_MODULE: SETTINGS_MODULE, PYTHONDONTWRITEBYTECODE: '1' });
  for (const name of Object.keys(env)) if (/^(PYTHON(HOME|STARTUP)|https?_proxy|HTTPS?_PROXY|all_proxy|ALL_PROXY)$/.test(name)) delete env[name];
  const child: ChildProcess = spawn(PYTHON, [HORIZON_MANAGE, 'runserver', '--insecure', '--noreload', `127.0.0.1:${port}`], {
    cwd: options.dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  process.once('exit', () => running() && child.kill('SIGKILL'));

  const horizon: HorizonProcess = {
    url,
    output: () => output,
    async stop() {
      if (!running()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (!running()) throw new Error(`Horizon exited (code ${child.exitCode}, signal ${child.signalCode}) before it answered; its output:\n${output}`);
    const status = await fetch(`${url}/auth/login/`, { redirect: 'manual' }).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return horizon;
    if (Date.now() > deadline) {
      await horizon.stop();
      throw new Error(`Horizon's login page did not answer 200 (last: ${status || 'no connection'}); its output:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
