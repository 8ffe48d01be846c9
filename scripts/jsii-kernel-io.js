// Preloaded (node --require) into the jsii kernel when scripts/jsii-node starts it without jsii's runtime
// wrapper (bin/jsii-runtime.js). That wrapper is a second node process whose only jobs are to give the kernel
// (lib/program.js) one duplex file descriptor, FD 3, for the jsii API, and to forward the kernel's stdout
// and stderr to Python as {"stdout"|"stderr": "<base64>"} lines on its own stderr. Relaying every one of
// the ~4,500 requests of a prod synth through it cost ~0.4 s of CPU and ~50 MB; scripts/jsii-node gives the
// kernel Python's request pipe as FD 3 and Python's response pipe as FD 4, and this file does the rest:
// the kernel's writes to FD 3 go to FD 4, and whatever it prints is wrapped exactly as the wrapper did.
'use strict';
const fs = require('fs');

const API = 3; // the kernel reads requests from, and writes responses to, FD 3 (lib/program.js)
const API_OUT = 4; // scripts/jsii-node: Python's response pipe
const STDERR = 2; // scripts/jsii-node: Python's stderr pipe (also FD 1)

const writeSync = fs.writeSync;

function forward(tag, data) {
  writeSync(STDERR, `${JSON.stringify({ [tag]: Buffer.from(data).toString('base64') })}\n`);
}

fs.writeSync = function (fd, buffer, ...rest) {
  if (fd === API) {
    return writeSync.call(fs, API_OUT, buffer, ...rest);
  }
  if (fd === 1 || fd === STDERR) {
    // writeSync(fd, buffer[, offset[, length]]) or writeSync(fd, string[, position[, encoding]])
    const data = typeof buffer === 'string' ? Buffer.from(buffer, rest[1]) : Buffer.from(buffer.buffer, buffer.byteOffset + (rest[0] ?? 0), rest[1] ?? buffer.byteLength - (rest[0] ?? 0));
    forward(fd === 1 ? 'stdout' : 'stderr', data);
    return data.length;
  }
  return writeSync.call(fs, fd, buffer, ...rest);
};

for (const [tag, stream] of [['stdout', process.stdout], ['stderr', process.stderr]]) {
  stream.write = function (chunk, encoding, callback) {
    if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    forward(tag, typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk);
    if (callback) {
      process.nextTick(callback);
    }
    return true;
  };
}
