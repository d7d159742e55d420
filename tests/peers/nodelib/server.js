// lwm2m-node-lib (Telefonica) LwM2M server as an interop peer, driven by JSON lines.
// SPDX-License-Identifier: MIT
//
//   node server.js --port N [--write-format text/plain] [--accept text/plain] [--lifetime-check-ms 500]
//
// stdin, one JSON object per line:  {"id": 1, "cmd": "read", "endpoint": "ep", "path": "/3/0/9"}
//   cmd: list | read | write (value) | execute (args) | discover | writeAttributes (attrs object)
//        | observe | cancel | stop.  read/observe may carry "accept" (a node-coap format name or
//        CF number) to override the default Accept for that one request.
// stdout, one JSON object per line:
//   {"event": "ready", "port": N}
//   {"event": "registration" | "update" | "unregistration", "endpoint", "lifetime", ...}
//   {"event": "notification", "endpoint", "path", "value"}
//   {"id": 1, "ok": true, "result": ...}  or  {"id": 1, "ok": false, "code": "4.04", "error": "..."}
// Commands run one at a time (the Accept override mutates the library's shared config).
//
// Quirks of lwm2m-node-lib 1.4.0 found while building this (see also tests/host/nodelib.py):
// - Register answers 2.01 with ONE Location-Path option "rd/<n>" (a slash inside the segment);
//   n is a counter from 1. Update/De-register work whether the client echoes it as one segment
//   or as "rd", "<n>" (the server joins Uri-Path with "/" and takes the 3rd piece).
// - DM requests go to the server's own port with Proxy-Uri and are forwarded from the server's
//   socket without Proxy-Uri: the client sees them from the server's address and port.
// - Read and Observe target /o/i/r only (the library always builds three segments); values come
//   back as a UTF-8 string, so binary formats (TLV, CBOR) are mangled: use text/plain.
// - Without defaultAcceptFormat, Read sends no Accept; Write and Execute send Content-Format
//   writeFormat, whose default is the legacy 1541 ("lightweightm2m/text"): a 1.1 client answers
//   4.15. This harness defaults both to text/plain (0); --write-format can restore the legacy one.
// - Execute is a POST carrying that Content-Format (text/plain here), payload = the arguments.
// - Write-Attributes accepts only pmin, pmax, gt, lt, st (and a "cancel" flag); PUT, no CF.
// - Discover sends Accept application/link-format (40) at /o, /o/i or /o/i/r.
// - Observe keeps a notification only if its Observe number is greater than the last one,
//   starting from 0 (no 24-bit wrap, no freshness window): a first response carrying Observe 0
//   is dropped and the observe call never completes (this harness's queue then stays blocked).
//   Cancel only closes the local stream: the client is not told (no GET Observe=1, no RST
//   reaches it) and keeps notifying into the void.
// - The server never ACKs a CON notification (it forwards it to its internal agent, whose
//   ACK goes to the server's own socket and is dropped): the first CON notification arrives,
//   then the client retransmits it and, with NSTART=1, holds everything after it. NON
//   notifications work.
// - Incoming messages are de-duplicated by Message ID alone (window of 100, all peers).
// - Lifetime expiry removes the device and reports it as an unregistration.
'use strict';

var lwm2m = require('lwm2m-node-lib').server;
var readline = require('readline');

function arg(name, dflt) {
    var i = process.argv.indexOf('--' + name);
    return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

function out(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

// node-coap takes formats by name only; these are the names it (or config.formats) knows
var FORMATS = [
    {name: 'text/plain', value: 0},
    {name: 'application/link-format', value: 40},
    {name: 'application/octet-stream', value: 42},
    {name: 'lightweightm2m/text', value: 1541},
    {name: 'application/vnd.oma.lwm2m+tlv', value: 11542},
    {name: 'application/senml+json', value: 110},
    {name: 'application/senml+cbor', value: 112}
];

function asFormat(f) {
    for (var i = 0; i < FORMATS.length; i++) {
        if (String(FORMATS[i].value) === String(f)) { return FORMATS[i].name; }
    }
    return f;
}

var config = {
    port: Number(arg('port', 5683)),
    lifetimeCheckInterval: Number(arg('lifetime-check-ms', 500)),
    udpWindow: 100,
    defaultType: 'Device',
    logLevel: 'FATAL',
    ipProtocol: 'udp4',
    serverProtocol: 'udp4',
    formats: FORMATS.slice(3),
    writeFormat: asFormat(arg('write-format', 'text/plain')),
    defaultAcceptFormat: asFormat(arg('accept', 'text/plain'))
};

function parsePath(p) {
    var parts = String(p || '').split('/').filter(function (s) { return s.length > 0; });
    return parts;
}

function withDevice(ep, fn, done) {
    lwm2m.getRegistry().getByName(ep, function (err, dev) {
        if (err) {
            done(err);
        } else {
            fn(dev.id);
        }
    });
}

function device(d) {
    // no "id"/"path" keys: those name answers and observed paths in this protocol
    return {endpoint: d.name, device_id: d.id, lifetime: d.lifetime, address: d.address, port: d.port, rd_path: d.path,
            type: d.type};
}

function handle(msg, done) {
    var p = parsePath(msg.path);
    var ep = msg.endpoint;
    switch (msg.cmd) {
    case 'list':
        return lwm2m.listDevices(function (err, list) { done(err, (list || []).map(device)); });
    case 'read':
        return withDevice(ep, function (id) {
            var saved = config.defaultAcceptFormat;
            if (msg.accept !== undefined) { config.defaultAcceptFormat = asFormat(msg.accept); }
            lwm2m.read(id, p[0], p[1], p[2], function (err, value) {
                config.defaultAcceptFormat = saved;
                done(err, value);
            });
        }, done);
    case 'write':
        return withDevice(ep, function (id) {
            lwm2m.write(id, p[0], p[1], p[2], String(msg.value), done);
        }, done);
    case 'execute':
        return withDevice(ep, function (id) {
            lwm2m.execute(id, p[0], p[1], p[2], msg.args === undefined ? '' : String(msg.args), done);
        }, done);
    case 'discover':
        return withDevice(ep, function (id) {
            if (p.length >= 3) { lwm2m.discover(id, p[0], p[1], p[2], done); }
            else if (p.length === 2) { lwm2m.discover(id, p[0], p[1], done); }
            else { lwm2m.discover(id, p[0], done); }
        }, done);
    case 'writeAttributes':
        return withDevice(ep, function (id) {
            lwm2m.writeAttributes(id, p[0], p[1], p[2], msg.attrs || {}, done);
        }, done);
    case 'observe':
        return withDevice(ep, function (id) {
            var saved = config.defaultAcceptFormat;
            if (msg.accept !== undefined) { config.defaultAcceptFormat = asFormat(msg.accept); }
            lwm2m.observe(id, p[0], p[1], p[2], function (value) {
                out({event: 'notification', endpoint: ep, path: msg.path, value: value});
            }, function (err, first) {
                config.defaultAcceptFormat = saved;
                done(err, first);
            });
        }, done);
    case 'cancel':
        return withDevice(ep, function (id) {
            lwm2m.cancelObserver(id, p[0], p[1], p[2], done);
        }, done);
    case 'stop':
        return lwm2m.stop(function () { done(null, 'stopped'); process.exit(0); });
    default:
        return done({code: '4.00', message: 'unknown command ' + msg.cmd});
    }
}

var queue = [];
var busy = false;

function next() {
    if (busy || queue.length === 0) { return; }
    busy = true;
    var msg = queue.shift();
    var finished = false;
    function done(err, result) {
        if (finished) { return; }  // some library callbacks can fire twice (stream errors)
        finished = true;
        if (err) {
            out({id: msg.id, ok: false, code: err.code || null, error: err.message || err.name || String(err)});
        } else {
            out({id: msg.id, ok: true, result: result === undefined ? null : result});
        }
        busy = false;
        setImmediate(next);
    }
    try {
        handle(msg, done);
    } catch (e) {
        done({code: null, message: 'exception: ' + e.message});
    }
}

lwm2m.start(config, function (error, serverInfo) {
    if (error) {
        out({event: 'error', error: String(error.message || error)});
        process.exit(1);
    }
    lwm2m.setHandler(serverInfo, 'registration', function (endpoint, lifetime, version, binding, payload, cb) {
        out({event: 'registration', endpoint: endpoint, lifetime: lifetime, version: version, binding: binding,
             payload: payload});
        cb();
    });
    lwm2m.setHandler(serverInfo, 'updateRegistration', function (object, payload, cb) {
        var ev = device(object);
        ev.event = 'update';
        ev.payload = payload;
        out(ev);
        cb();
    });
    lwm2m.setHandler(serverInfo, 'unregistration', function (object, cb) {
        var ev = device(object);
        ev.event = 'unregistration';
        out(ev);
        cb();
    });
    out({event: 'ready', port: config.port});
});

readline.createInterface({input: process.stdin}).on('line', function (line) {
    var msg;
    try {
        msg = JSON.parse(line);
    } catch (e) {
        out({event: 'error', error: 'bad command line: ' + line});
        return;
    }
    queue.push(msg);
    next();
}).on('close', function () {
    process.exit(0);
});
