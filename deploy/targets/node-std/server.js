// node-std: node:http, one process, as published, but with Content-Length set. The published
// server sent no Content-Length, so HTTP/1.0 clients (ab) got chunked-less, close-delimited
// responses that claimed keep-alive: the 811,908 "failures" of the article.
'use strict';
const http = require('node:http');
const { parseArgs } = require('node:util');

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8080' },
    // Accepted for a uniform command line; Node runs one event loop.
    threads: { type: 'string', default: '1' },
  },
});

const body = Buffer.from('Hello');
const headers = { 'Content-Type': 'text/plain', 'Content-Length': body.length };

const server = http.createServer((req, res) => {
  res.writeHead(200, headers);
  res.end(body);
});
server.listen(Number(values.port), values.host);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)) && server.closeAllConnections());
}
