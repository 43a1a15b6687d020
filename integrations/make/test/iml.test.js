'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { evaluate, parse } = require('../lib/iml');

test('a lone {{expression}} keeps its type; mixed text is a string', () => {
  const ctx = { parameters: { count: 4, customer: { email: 'a@b.c' } }, body: { error: { code: 'x' } } };
  assert.equal(evaluate('{{parameters.count}}', ctx), 4);
  assert.deepEqual(evaluate('{{parameters.customer}}', ctx), { email: 'a@b.c' });
  assert.equal(evaluate('n={{parameters.count}}', ctx), 'n=4');
  assert.equal(evaluate('[{{statusCode}}] {{body.error.code}}', { ...ctx, statusCode: 409 }), '[409] x');
  assert.equal(evaluate('a{{parameters.missing}}b', ctx), 'ab');
});

test('unmapped values drop their object keys, as Make drops unmapped fields', () => {
  const out = evaluate({ a: '{{parameters.a}}', b: '{{parameters.b}}', c: { d: '{{parameters.d}}' } }, { parameters: { a: 1 } });
  assert.deepEqual(out, { a: 1, c: {} });
});

test('paths through missing objects are undefined', () => {
  assert.equal(evaluate('{{body.error.message}}', { body: undefined }), undefined);
  assert.equal(evaluate('{{item.customer.email}}', { item: { customer: null } }), undefined);
});

test('ifempty and if', () => {
  const ctx = { body: { a: '', b: 'x', n: 0 } };
  assert.equal(evaluate("{{ifempty(body.a, 'd')}}", ctx), 'd');
  assert.equal(evaluate("{{ifempty(body.b, 'd')}}", ctx), 'x');
  assert.equal(evaluate("{{ifempty(body.none, ifempty(body.a, body.b))}}", ctx), 'x');
  assert.equal(evaluate("{{if(body.b == 'x', 'yes', 'no')}}", ctx), 'yes');
  assert.equal(evaluate("{{if(!body.a && body.b, 1, 2)}}", ctx), 1);
  assert.equal(evaluate('{{body.n === 0}}', ctx), true);
});

test('toCollection turns key/value items into a collection', () => {
  const ctx = { parameters: { data: [{ key: 'order', value: 'A-17' }, { key: 'table', value: '4' }, { key: '', value: 'x' }] } };
  assert.deepEqual(evaluate("{{toCollection(parameters.data, 'key', 'value')}}", ctx), { order: 'A-17', table: '4' });
  assert.deepEqual(evaluate("{{toCollection(parameters.none, 'key', 'value')}}", ctx), undefined);
  assert.deepEqual(evaluate({ data: "{{toCollection(parameters.none, 'key', 'value')}}" }, ctx), {}, 'an undefined collection is not sent');
});

test('anything outside the subset is refused', () => {
  for (const bad of ['body.data[1]', 'foo.bar', 'body.a + 1', 'formatDate(now)', 'ifempty(body.a)', 'body.', "'open"]) {
    assert.throws(() => parse(bad), SyntaxError, bad);
  }
});
