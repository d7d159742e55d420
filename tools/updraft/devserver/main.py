# `updraft server`: run the dev LwM2M server (CoAP registration + DM) and its JSON API until
# Ctrl-C / SIGTERM. Prints one "updraft server: ..." line per listener for scripts to parse.
# SPDX-License-Identifier: MIT
import argparse
import asyncio
import signal
import sys
import tempfile

DEFAULT_COAP_PORT = 5683
DEFAULT_API_PORT = 8683
DEFAULT_HTTP_PORT = 0  # the HTTP file server (pulls by http://): a free port, printed and in GET /files
DEFAULT_URI = "coap://127.0.0.1:%d" % DEFAULT_COAP_PORT


def _log(line):
    print(line, flush=True)


async def run(host, coap_port, api_host, api_port, stop=None, files=None, http_port=DEFAULT_HTTP_PORT,
              file_host=None):
    # files: directory to serve under /fw (None: a temporary one, removed at the end);
    # http_port None: no HTTP file server
    from updraft.devserver import api, lwm2m
    from updraft.devserver import files as files_mod
    from updraft.devserver.update import Updates

    tmp = None
    if files is None:
        tmp = tempfile.TemporaryDirectory(prefix="updraft-files-")
        files = tmp.name
    store = files_mod.FileStore(files)
    registry, dm, ctx = await lwm2m.start(host, coap_port, _log, store)
    coap_uri = "coap://%s:%d" % (host, coap_port)
    # the host devices are told to pull from: a wildcard bind is no address to give out
    fhost = file_host or ("127.0.0.1" if host in ("0.0.0.0", "::", "") else host)
    uris = {"coap": "coap://%s:%d/%s/" % (_bracket(fhost), coap_port, files_mod.PREFIX), "http": None}
    fileserver = None
    if http_port is not None:
        fileserver = files_mod.serve_http(store, host, http_port)
        uris["http"] = "http://%s:%d/%s/" % (_bracket(fhost), fileserver.server_address[1], files_mod.PREFIX)
    updates = Updates(registry, dm, store, uris)
    httpd = api.serve(api.Api(registry, dm, asyncio.get_running_loop(), coap_uri, updates), api_host, api_port)
    _log("updraft server: lwm2m %s" % coap_uri)
    _log("updraft server: files %s at %s%s" % (store.dir, uris["coap"], " and " + uris["http"] if uris["http"] else ""))
    _log("updraft server: api http://%s:%d" % httpd.server_address[:2])
    _log("updraft server: waiting for clients (Ctrl-C stops)")
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        await stop.wait()
    finally:
        httpd.shutdown()
        httpd.server_close()
        if fileserver is not None:
            fileserver.shutdown()
            fileserver.server_close()
        await ctx.shutdown()
        if tmp is not None:
            tmp.cleanup()
        _log("updraft server: stopped")


def _bracket(host):
    return "[%s]" % host if ":" in host else host


def main(argv):
    ap = argparse.ArgumentParser(prog="updraft server", description="the dev LwM2M server and its JSON API")
    ap.add_argument("--host", default="127.0.0.1", help="CoAP address to bind (default 127.0.0.1)")
    ap.add_argument("--coap-port", type=int, default=DEFAULT_COAP_PORT, help="CoAP port (default 5683)")
    ap.add_argument("--api-host", default="127.0.0.1", help="JSON API address (default 127.0.0.1)")
    ap.add_argument("--api-port", type=int, default=DEFAULT_API_PORT,
                    help="JSON API port (default %d; 0 picks a free one and prints it)" % DEFAULT_API_PORT)
    ap.add_argument("--files", help="directory served for pulls at /fw/<name> over CoAP and HTTP; "
                    "`updraft update` puts images there (default: a temporary directory)")
    ap.add_argument("--http-port", default=str(DEFAULT_HTTP_PORT),
                    help="HTTP file server port (default: a free one, printed; off: none)")
    ap.add_argument("--file-host", help="host name put into Package URIs (default: the CoAP address)")
    args = ap.parse_args(argv)
    http_port = None if args.http_port == "off" else int(args.http_port)
    try:
        asyncio.run(run(args.host, args.coap_port, args.api_host, args.api_port, files=args.files,
                        http_port=http_port, file_host=args.file_host))
    except OSError as e:  # port taken: say which, no traceback
        print("updraft server: %s" % e, file=sys.stderr)
        return 1
    return 0
