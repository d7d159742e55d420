# `updraft server`: run the dev LwM2M server (CoAP registration + DM) and its JSON API until
# Ctrl-C / SIGTERM. Prints one "updraft server: ..." line per listener for scripts to parse.
# SPDX-License-Identifier: MIT
import argparse
import asyncio
import signal
import sys

DEFAULT_COAP_PORT = 5683
DEFAULT_API_PORT = 8683
DEFAULT_URI = "coap://127.0.0.1:%d" % DEFAULT_COAP_PORT


def _log(line):
    print(line, flush=True)


async def run(host, coap_port, api_host, api_port, stop=None):
    from updraft.devserver import api, lwm2m

    registry, dm, ctx = await lwm2m.start(host, coap_port, _log)
    coap_uri = "coap://%s:%d" % (host, coap_port)
    httpd = api.serve(api.Api(registry, dm, asyncio.get_running_loop(), coap_uri), api_host, api_port)
    _log("updraft server: lwm2m %s" % coap_uri)
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
        await ctx.shutdown()
        _log("updraft server: stopped")


def main(argv):
    ap = argparse.ArgumentParser(prog="updraft server", description="the dev LwM2M server and its JSON API")
    ap.add_argument("--host", default="127.0.0.1", help="CoAP address to bind (default 127.0.0.1)")
    ap.add_argument("--coap-port", type=int, default=DEFAULT_COAP_PORT, help="CoAP port (default 5683)")
    ap.add_argument("--api-host", default="127.0.0.1", help="JSON API address (default 127.0.0.1)")
    ap.add_argument("--api-port", type=int, default=DEFAULT_API_PORT,
                    help="JSON API port (default %d; 0 picks a free one and prints it)" % DEFAULT_API_PORT)
    args = ap.parse_args(argv)
    try:
        asyncio.run(run(args.host, args.coap_port, args.api_host, args.api_port))
    except OSError as e:  # port taken: say which, no traceback
        print("updraft server: %s" % e, file=sys.stderr)
        return 1
    return 0
