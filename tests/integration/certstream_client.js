// certstream_client.js - run the npm certstream 1.1.1 client (installed in
// tests/node by tests/install-deps.sh) against a notaryd stream URL:
// prints "MSG <json>" for each non-heartbeat message, exits after COUNT
// of them or after TIMEOUT_MS.  Usage: node certstream_client.js URL COUNT
// TIMEOUT_MS
'use strict';
const path = require('path');
const CertStream = require(path.join(__dirname, '..', 'node', 'node_modules',
    'certstream'));
const url = process.argv[2];
const want = parseInt(process.argv[3], 10);
const timeout = parseInt(process.argv[4], 10);
let got = 0;
const c = new CertStream((msg) => {
	console.log('MSG ' + JSON.stringify(msg));
	// process.exit() drops what a pipe has not taken yet: exit once
	// everything written so far is flushed.
	if (++got >= want)
		process.stdout.write('', () => process.exit(0));
}, true);
c.connect(url);
setTimeout(() => process.exit(2), timeout);
