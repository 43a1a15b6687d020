'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { REPO_ROOT } = require('../lib/hub');

// The fields of `value` that the interface (Make's output description) does
// not name, as JSON paths. A module whose real output has fields missing from
// its interface would hide them from the Make mapping panel.
function uncovered(value, spec, where = '$') {
  const out = [];
  if (value === null || value === undefined || !spec) return out;
  const fields = Array.isArray(spec) ? spec : null;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...uncovered(v, spec, `${where}[${i}]`));
    return out;
  }
  if (typeof value !== 'object') return out;
  if (!fields) return out;
  for (const [k, v] of Object.entries(value)) {
    const f = fields.find((p) => p.name === k);
    if (!f) {
      out.push(`${where}.${k}`);
      continue;
    }
    if (f.type === 'collection') out.push(...uncovered(v, f.spec, `${where}.${k}`));
    if (f.type === 'array' && Array.isArray(f.spec)) out.push(...uncovered(v, f.spec, `${where}.${k}`));
  }
  return out;
}

// The event names, read from the OpenAPI document (the source of truth).
function eventNamesFromOpenAPI() {
  const yaml = fs.readFileSync(path.join(REPO_ROOT, 'hub/httpapi/openapi.yaml'), 'utf8');
  const block = /\n {4}EventName:\n[\s\S]*?\n {6}enum:\n((?: {8}- .*\n)+)/.exec(yaml);
  if (!block) throw new Error('EventName enum not found in openapi.yaml');
  return block[1]
    .trim()
    .split('\n')
    .map((l) => l.replace(/^\s*-\s*/, '').trim());
}

module.exports = { uncovered, eventNamesFromOpenAPI };
