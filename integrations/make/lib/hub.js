// Builds and starts a real hub (`hub dev`) for the tests.

'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '../../..');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts `hub dev` on a free port and resolves once it printed the demo API
// key and template id and answers /readyz with 200.
async function startHub({ timeoutMs = 60000 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'make-hub-'));
  const bin = path.join(dir, 'hub');
  const build = spawnSync('go', ['build', '-o', bin, './cmd/hub'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (build.status !== 0) throw new Error(`go build failed:\n${build.stdout}${build.stderr}`);

  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const child = spawn(bin, ['dev', '--addr', `127.0.0.1:${port}`, '--data-dir', path.join(dir, 'data')], {
    env: { ...process.env, HUB_LOG_LEVEL: 'warn', HUB_WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let gone = null;
  exited.then((r) => (gone = r));

  const hub = {
    baseUrl,
    dir,
    child,
    apiKey: null,
    templateId: null,
    output: () => ({ stdout, stderr }),
    async stop() {
      if (!gone) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10000);
        const r = await exited;
        clearTimeout(t);
        hub.exit = r;
      } else {
        hub.exit = gone;
      }
      fs.rmSync(dir, { recursive: true, force: true });
      return hub.exit;
    },
  };

  const deadline = Date.now() + timeoutMs;
  try {
    while (!(hub.apiKey && hub.templateId)) {
      if (gone) throw new Error(`hub dev exited early (${JSON.stringify(gone)})`);
      if (Date.now() > deadline) throw new Error('hub dev did not print the demo key and template id in time');
      hub.apiKey = (/7loc_sc_[0-9A-Za-z]{32,}/.exec(stdout) || [])[0] || null;
      hub.templateId = (/tpl_[0-9A-HJKMNP-TV-Z]{26}/.exec(stdout) || [])[0] || null;
      if (!(hub.apiKey && hub.templateId)) await sleep(50);
    }
    for (;;) {
      if (gone) throw new Error(`hub dev exited early (${JSON.stringify(gone)})`);
      if (Date.now() > deadline) throw new Error('hub dev did not become ready in time');
      try {
        const res = await fetch(`${baseUrl}/readyz`);
        await res.arrayBuffer();
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
  } catch (e) {
    await hub.stop();
    e.message += `\n--- hub stdout ---\n${stdout}\n--- hub stderr ---\n${stderr}`;
    throw e;
  }
  return hub;
}

module.exports = { startHub, freePort, sleep, REPO_ROOT };
