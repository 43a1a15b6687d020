'use strict';

// A minimal SMTP server on loopback for the tests: it accepts every message
// (no TLS, no AUTH) and keeps what it received, so the hub's email channel
// can be pointed at it with `PUT /v1/channels/email {"host": "127.0.0.1",
// "port": …, "tls": "none"}`. Just enough of RFC 5321 for the hub's client.

const net = require('net');

const startSmtpServer = () =>
  new Promise((resolve, reject) => {
    const messages = [];
    const sockets = new Set();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      socket.setEncoding('utf8');
      const reply = (line) => socket.write(`${line}\r\n`);
      let buffer = '';
      let envelope = { from: null, to: [] };
      let data = null; // the DATA being read, or null between commands

      reply('220 localhost ESMTP test');
      socket.on('data', (chunk) => {
        buffer += chunk;
        for (;;) {
          if (data !== null) {
            const end = buffer.indexOf('\r\n.\r\n');
            if (end < 0) return;
            data += buffer.slice(0, end + 2);
            buffer = buffer.slice(end + 5);
            messages.push({ ...envelope, data: data.replace(/^\.\./gm, '.') });
            envelope = { from: null, to: [] };
            data = null;
            reply('250 2.0.0 queued');
            continue;
          }
          const eol = buffer.indexOf('\r\n');
          if (eol < 0) return;
          const line = buffer.slice(0, eol);
          buffer = buffer.slice(eol + 2);
          const verb = line.slice(0, 4).toUpperCase();
          if (verb === 'EHLO') {
            reply('250-localhost');
            reply('250-8BITMIME');
            reply('250 SMTPUTF8');
          } else if (verb === 'HELO' || verb === 'NOOP') {
            reply('250 ok');
          } else if (verb === 'RSET') {
            envelope = { from: null, to: [] };
            reply('250 ok');
          } else if (verb === 'MAIL') {
            envelope.from = (/<([^>]*)>/.exec(line) || [])[1] || '';
            reply('250 2.1.0 ok');
          } else if (verb === 'RCPT') {
            envelope.to.push((/<([^>]*)>/.exec(line) || [])[1] || '');
            reply('250 2.1.5 ok');
          } else if (verb === 'DATA') {
            data = '';
            reply('354 end with <CRLF>.<CRLF>');
          } else if (verb === 'QUIT') {
            reply('221 2.0.0 bye');
            socket.end();
          } else {
            reply('502 5.5.2 command not implemented');
          }
        }
      });
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({
        host: '127.0.0.1',
        port: server.address().port,
        messages,
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });

module.exports = { startSmtpServer };
