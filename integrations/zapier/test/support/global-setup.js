'use strict';

// Jest globalSetup: build the hub from this repository and start it once for
// all test files. Its address and credentials reach the test workers through
// the environment (workers are started after this and inherit it).

const fs = require('fs');
const os = require('os');
const path = require('path');

const { buildHub, startHub } = require('./hub-process');

module.exports = async () => {
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zapier-hub-'));
  const binary = path.join(tmpDir, 'hub');
  globalThis.__HUB_TMPDIR__ = tmpDir;

  let hub;
  try {
    await buildHub(binary);
    hub = await startHub({
      binary,
      dataDir: path.join(tmpDir, 'data'),
      // The tests make bursts of calls with one key; the per-key limit is
      // tested on a second hub of its own (errors.test.js).
      env: { HUB_RATE_LIMIT: '0' },
    });
  } catch (err) {
    fs.rmSync(tmpDir, { recursive: true, force: true });
    throw err;
  }
  globalThis.__HUB__ = hub;

  process.env.ZAPIER_TEST_HUB = JSON.stringify({
    baseUrl: hub.baseUrl,
    apiKey: hub.apiKey,
    adminToken: hub.adminToken,
    templateId: hub.templateId,
    binary,
    tmpDir,
  });
};
