'use strict';

const fs = require('fs');

// Jest globalTeardown: stop the hub (SIGTERM) and remove its directory.
module.exports = async () => {
  if (globalThis.__HUB__) {
    await globalThis.__HUB__.stop();
  }
  if (globalThis.__HUB_TMPDIR__) {
    fs.rmSync(globalThis.__HUB_TMPDIR__, { recursive: true, force: true });
  }
};
