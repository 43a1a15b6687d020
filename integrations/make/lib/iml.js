// A small evaluator for the subset of Make's IML (Integromat Markup Language)
// that this app definition uses. It is deliberately strict: anything outside
// the subset is a parse error, so the test suite proves that every expression
// in the definition is one we evaluate the way Make documents it.
//
// Supported inside {{ … }}:
//   - paths: ident(.ident)*            e.g. connection.apiKey, body.error.code
//     (no [index] access: IML array indexing is not used by the definition)
//   - literals: 'text', "text", numbers, true, false, null, undefined
//   - operators: !, &&, ||, ==, !=, ===, !==, and parentheses
//   - functions: ifempty(a, b), if(cond, a, b), toCollection(array, key, value)
//
// Templates: a string that is exactly one {{expr}} yields the raw value
// (object, number, undefined…); otherwise every {{expr}} is replaced by its
// text (undefined and null become ""). Objects and arrays are evaluated
// member by member; object keys whose value is undefined are dropped, as Make
// drops unmapped fields.

'use strict';

const VARIABLES = new Set([
  'connection', // connection data (modules, RPCs, webhook attach/detach)
  'parameters', // module / RPC / webhook / connection parameters
  'webhook', // attach: {id, url}; detach and instant triggers: the attach's response.data
  'body', // response body (response, pagination); incoming body (webhooks)
  'headers', // response headers; incoming headers (webhooks)
  'statusCode', // response status
  'item', // the current item while iterating
  'data', // a polling trigger's saved state (data.lastId)
]);

const FUNCTIONS = {
  ifempty: {
    arity: 2,
    fn: (a, b) => (isEmpty(a) ? b : a),
  },
  if: {
    arity: 3,
    fn: (c, a, b) => (truthy(c) ? a : b),
  },
  // Make's toCollection(array; key; value): an array of items such as
  // [{key: 'order', value: 'A-17'}] becomes the collection {order: 'A-17'}.
  // Anything but an array yields undefined (so the field is not sent).
  toCollection: {
    arity: 3,
    fn: (array, key, value) => {
      if (!Array.isArray(array)) return undefined;
      const out = {};
      for (const item of array) {
        if (item && typeof item === 'object' && !isEmpty(item[key])) out[item[key]] = item[value];
      }
      return out;
    },
  },
};

function isEmpty(v) {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

function truthy(v) {
  return !(v === undefined || v === null || v === false || v === '' || v === 0 || Number.isNaN(v));
}

// ------------------------------------------------------------------ lexer

function tokenize(src) {
  const tokens = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) {
          s += src[j + 1];
          j += 2;
        } else {
          s += src[j++];
        }
      }
      if (j >= src.length) throw new SyntaxError(`unterminated string in {{${src}}}`);
      tokens.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    const num = /^[0-9]+(\.[0-9]+)?/.exec(src.slice(i));
    if (num) {
      tokens.push({ t: 'num', v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) {
      tokens.push({ t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    const op = /^(===|!==|==|!=|&&|\|\||[!().,])/.exec(src.slice(i));
    if (op) {
      tokens.push({ t: 'op', v: op[0] });
      i += op[0].length;
      continue;
    }
    throw new SyntaxError(`unsupported character ${JSON.stringify(c)} in {{${src}}}`);
  }
  return tokens;
}

// ------------------------------------------------------------------ parser

function parse(src) {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = () => tokens[pos];
  const isOp = (v) => peek() && peek().t === 'op' && peek().v === v;
  const expectOp = (v) => {
    if (!isOp(v)) throw new SyntaxError(`expected ${v} in {{${src}}}`);
    pos++;
  };

  function orExpr() {
    let left = andExpr();
    while (isOp('||')) {
      pos++;
      left = { k: 'or', a: left, b: andExpr() };
    }
    return left;
  }
  function andExpr() {
    let left = eqExpr();
    while (isOp('&&')) {
      pos++;
      left = { k: 'and', a: left, b: eqExpr() };
    }
    return left;
  }
  function eqExpr() {
    let left = unary();
    while (peek() && peek().t === 'op' && ['==', '!=', '===', '!=='].includes(peek().v)) {
      const op = tokens[pos++].v;
      left = { k: 'cmp', op, a: left, b: unary() };
    }
    return left;
  }
  function unary() {
    if (isOp('!')) {
      pos++;
      return { k: 'not', a: unary() };
    }
    return primary();
  }
  function primary() {
    const tok = peek();
    if (!tok) throw new SyntaxError(`unexpected end of {{${src}}}`);
    if (tok.t === 'op' && tok.v === '(') {
      pos++;
      const e = orExpr();
      expectOp(')');
      return e;
    }
    if (tok.t === 'str' || tok.t === 'num') {
      pos++;
      return { k: 'lit', v: tok.v };
    }
    if (tok.t === 'id') {
      pos++;
      if (tok.v === 'true') return { k: 'lit', v: true };
      if (tok.v === 'false') return { k: 'lit', v: false };
      if (tok.v === 'null') return { k: 'lit', v: null };
      if (tok.v === 'undefined') return { k: 'lit', v: undefined };
      if (isOp('(')) {
        const f = FUNCTIONS[tok.v];
        if (!f) throw new SyntaxError(`unsupported function ${tok.v}() in {{${src}}}`);
        pos++;
        const args = [];
        if (!isOp(')')) {
          args.push(orExpr());
          while (isOp(',')) {
            pos++;
            args.push(orExpr());
          }
        }
        expectOp(')');
        if (args.length !== f.arity) throw new SyntaxError(`${tok.v}() takes ${f.arity} arguments in {{${src}}}`);
        return { k: 'call', f: tok.v, args };
      }
      if (!VARIABLES.has(tok.v)) throw new SyntaxError(`unknown variable ${tok.v} in {{${src}}}`);
      const path = [tok.v];
      while (isOp('.')) {
        pos++;
        const p = peek();
        if (!p || p.t !== 'id') throw new SyntaxError(`expected a name after . in {{${src}}}`);
        path.push(p.v);
        pos++;
      }
      return { k: 'path', path };
    }
    throw new SyntaxError(`unexpected ${tok.v} in {{${src}}}`);
  }

  const ast = orExpr();
  if (pos !== tokens.length) throw new SyntaxError(`unexpected ${tokens[pos].v} in {{${src}}}`);
  return ast;
}

function evalAst(n, ctx) {
  switch (n.k) {
    case 'lit':
      return n.v;
    case 'path': {
      let v = ctx[n.path[0]];
      for (const p of n.path.slice(1)) {
        if (v === undefined || v === null) return undefined;
        v = v[p];
      }
      return v;
    }
    case 'not':
      return !truthy(evalAst(n.a, ctx));
    case 'and': {
      const a = evalAst(n.a, ctx);
      return truthy(a) ? evalAst(n.b, ctx) : a;
    }
    case 'or': {
      const a = evalAst(n.a, ctx);
      return truthy(a) ? a : evalAst(n.b, ctx);
    }
    case 'cmp': {
      const a = evalAst(n.a, ctx);
      const b = evalAst(n.b, ctx);
      switch (n.op) {
        case '==':
          // eslint-disable-next-line eqeqeq
          return a == b;
        case '!=':
          // eslint-disable-next-line eqeqeq
          return a != b;
        case '===':
          return a === b;
        default:
          return a !== b;
      }
    }
    case 'call':
      return FUNCTIONS[n.f].fn(...n.args.map((a) => evalAst(a, ctx)));
    default:
      throw new Error(`bad node ${n.k}`);
  }
}

// ------------------------------------------------------------------ templates

const TAG = /\{\{([\s\S]*?)\}\}/g;
const SINGLE = /^\{\{([\s\S]*?)\}\}$/;

const cache = new Map();
function compiled(src) {
  let ast = cache.get(src);
  if (!ast) {
    ast = parse(src);
    cache.set(src, ast);
  }
  return ast;
}

function text(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function evaluate(value, ctx) {
  if (typeof value === 'string') {
    const single = SINGLE.exec(value);
    if (single && !single[1].includes('{{')) return evalAst(compiled(single[1]), ctx);
    return value.replace(TAG, (_, src) => text(evalAst(compiled(src), ctx)));
  }
  if (Array.isArray(value)) return value.map((v) => evaluate(v, ctx));
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      const r = evaluate(v, ctx);
      if (r !== undefined) out[k] = r;
    }
    return out;
  }
  return value;
}

// Every {{expression}} in a JSON value, with the JSON path where it occurs.
function expressions(value, where = '$') {
  const out = [];
  if (typeof value === 'string') {
    for (const m of value.matchAll(TAG)) out.push({ where, src: m[1] });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => out.push(...expressions(v, `${where}[${i}]`)));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...expressions(v, `${where}.${k}`));
  }
  return out;
}

// The variable paths an expression reads, e.g. [['parameters', 'card_id']].
function paths(src) {
  const out = [];
  (function walk(n) {
    if (n.k === 'path') out.push(n.path);
    for (const c of [n.a, n.b, ...(n.args || [])]) if (c) walk(c);
  })(compiled(src));
  return out;
}

module.exports = { evaluate, parse, expressions, paths, isEmpty, truthy, VARIABLES, FUNCTIONS };
