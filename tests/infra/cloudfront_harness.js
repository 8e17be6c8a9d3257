// Test harness for infra/cloudfront/viewer-request.js.
//
//   node cloudfront_harness.js <function-file> [require|sandbox] < events.json
//
// stdin: a JSON list of CloudFront viewer-request events.
// stdout: a JSON list with, per event, the request the handler returned
// (or {"__error__": "..."} if it threw).
//
// "require" loads the file as a CommonJS module (through its guarded
// module.exports line). "sandbox" runs it the way CloudFront does: as a plain
// strict-mode script in an empty global scope with no module, require,
// process or console, then calls the global handler().
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');

function loadHandler(file, mode) {
  if (mode === 'require') {
    const handler = require(path.resolve(file)).handler;
    if (typeof handler !== 'function') {
      throw new Error('module.exports.handler is not a function');
    }
    return handler;
  }
  if (mode === 'sandbox') {
    const source = "'use strict';\n" + fs.readFileSync(file, 'utf8');
    // cloudfront-js-2.0 provides require('crypto') (createHash, createHmac) and nothing else.
    const crypto = require('crypto');
    const context = vm.createContext({
      require: (name) => {
        if (name !== 'crypto') throw new Error('cloudfront-js-2.0 has no module ' + name);
        return { createHash: crypto.createHash, createHmac: crypto.createHmac };
      },
    });
    vm.runInContext(source, context, { filename: file });
    const handler = vm.runInContext('handler', context);
    if (typeof handler !== 'function') {
      throw new Error('no global function handler');
    }
    // Return plain JSON across the realm boundary.
    return (event) => JSON.parse(JSON.stringify(
      handler(vm.runInContext('(' + JSON.stringify(event) + ')', context))));
  }
  throw new Error('unknown mode ' + mode);
}

const file = process.argv[2];
const mode = process.argv[3] || 'require';
const handler = loadHandler(file, mode);
const events = JSON.parse(fs.readFileSync(0, 'utf8'));
const results = events.map((event) => {
  try {
    return handler(JSON.parse(JSON.stringify(event)));
  } catch (err) {
    return { __error__: String(err && err.stack || err) };
  }
});
process.stdout.write(JSON.stringify(results));
