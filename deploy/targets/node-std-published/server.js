// node-std-published: the article's node:http server as published: writeHead, then end() with
// the body and no Content-Length. Under HTTP/1.1 node:http answers with chunked encoding; under
// HTTP/1.0 (ab) chunking does not exist, so the body can only end with the connection: a client
// asking for keep-alive (ab -k) sees each connection closed after one response. That framing,
// not the server's capacity, is what ab counted as failures. Kept only as a variant of node-std.
'use strict';
const http = require('node:http');
const { parseArgs } = require('node:util');

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8080' },
    threads: { type: 'string', default: '1' },
  },
});

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('Hello');
});
server.listen(Number(values.port), values.host);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)) && server.closeAllConnections());
}
