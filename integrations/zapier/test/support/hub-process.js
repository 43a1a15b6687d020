'use strict';

// Builds and runs a real hub (`hub dev`) on loopback for the tests: SQLite in
// a temporary directory, embedded Redis, API + workers in one process.

const { spawn, execFile } = require('child_process');
const net = require('net');
const path = require('path');
const { promisify } = require('util');

const APP_DIR = path.resolve(__dirname, '..', '..'); // integrations/zapier
const REPO_ROOT = path.resolve(APP_DIR, '..', '..'); // the Go module

const KEY_RE = /7loc_sc_[0-9A-Za-z]{32,}/;
const ADMIN_RE = /Operator token[^\n]*\n\s*(\S+)/;
const TEMPLATE_RE = /tpl_[0-9A-HJKMNP-TV-Z]{26}/;

const buildHub = async (outputPath) => {
  try {
    await promisify(execFile)('go', ['build', '-o', outputPath, './cmd/hub'], {
      cwd: REPO_ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    throw new Error(`go build failed: ${err.stderr || err.message}`);
  }
};

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The environment of the hub: ours without any HUB_* setting of the caller
// (a HUB_DATABASE_URL or HUB_REDIS_URL there would point the test hub at a
// real server), plus the given settings.
const hubEnv = (extra) => {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('HUB_')) {
      env[name] = value;
    }
  }
  return {
    ...env,
    HUB_LOG_LEVEL: 'warn',
    HUB_WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8',
    ...extra,
  };
};

// Starts `<binary> dev`, reads its standard output until it has printed the
// demo API key, the operator token and the template id of its curl example,
// then waits for GET /readyz to answer 200. Resolves to the hub's details and
// a stop() that sends SIGTERM (SIGKILL after 10 s).
const startHub = async ({ binary, dataDir, env = {}, timeoutMs = 60000 }) => {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const child = spawn(binary, ['dev', '--addr', addr, '--data-dir', dataDir], {
    env: hubEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let hasExited = false;
  exited.then(() => {
    hasExited = true;
  });

  const stop = async () => {
    if (hasExited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(timer);
  };

  const fail = async (why) => {
    await stop();
    throw new Error(`${why}\n--- hub stdout ---\n${stdout}\n--- hub stderr ---\n${stderr}`);
  };

  const baseUrl = `http://${addr}`;
  const deadline = Date.now() + timeoutMs;
  // 1. The banner with the key, the operator token and the template id.
  while (!(KEY_RE.test(stdout) && ADMIN_RE.test(stdout) && TEMPLATE_RE.test(stdout))) {
    if (hasExited) return fail('the hub exited before printing its demo key');
    if (Date.now() > deadline) return fail('the hub printed no demo key in time');
    await sleep(50);
  }
  // 2. Readiness (database and Redis reachable).
  for (;;) {
    if (hasExited) return fail('the hub exited before it was ready');
    try {
      const response = await fetch(`${baseUrl}/readyz`);
      if (response.status === 200) break;
    } catch (e) {
      // not listening yet
    }
    if (Date.now() > deadline) return fail('GET /readyz did not answer 200 in time');
    await sleep(100);
  }

  return {
    pid: child.pid,
    baseUrl,
    apiKey: stdout.match(KEY_RE)[0],
    adminToken: stdout.match(ADMIN_RE)[1],
    templateId: stdout.match(TEMPLATE_RE)[0],
    stop,
  };
};

module.exports = { APP_DIR, REPO_ROOT, buildHub, startHub };
