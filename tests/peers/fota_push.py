# The push half of fota_node.py (its own module, loaded only for a push): Object 5's Package
# resource served by a CoAP endpoint on 127.0.0.1:PORT, no registration. As the pull half
# calls FirmwareUpdate.write_uri() where a device's LwM2M layer would (the update path, not
# the whole client), a PUT to /5/0/0 goes straight to Object 5's push stream
# (lwm2m.objects.firmware: Block1, base64, resets, refusals); ops=True dispatches it as the
# device does, through a Registry and lwm2m.ops (fota_ops.py). serve() reports "MEM ready"
# and "READY <port>" through fota_node's mem() and out(), waits for the first block and
# returns the FirmwareUpdate; `watch(n)` (or None) sees the bytes that reach the slot writer.
# starve=N: after N datagrams every receive finds no heap (fota_starve.py), and a push gives
# up 3 s after its last block, as agent.firmware's FirmwareUpdate would after 247 s.
# formats=True: with lwm2m.formats loaded, as on a registered client (a streamed push itself
# needs no codec: lwm2m.ops hands it to the stream before it looks one up).


def serve(loop, flash, writer, slot, port, mem, out, watch=None, starve=None, ops=False, formats=False):
    from port.net import udp_socket
    from time import time
    from coap.endpoint import Endpoint, Params
    from fota.journal import Journal
    from fota.update import FirmwareUpdate
    from lwm2m.objects.firmware import Firmware

    if formats:
        import lwm2m.formats  # noqa: F401
    if watch is not None:
        # the probe counts what reaches the slot (an instance attribute shadows the method)
        write = writer.write

        def counted(off, d):
            watch(len(d))
            write(off, d)

        writer.write = counted
    # as agent.firmware makes it (starved() reads the endpoint made below)
    fu = FirmwareUpdate(Journal(flash.partition("journal")), writer, clock=lambda: int(time()),
                        starved=lambda: ep.stats["nomem"])
    sock = udp_socket("127.0.0.1", port)
    if starve is not None:
        from fota_starve import starving

        fu.push_timeout = 3
        sock = starving(sock, starve)
    ep = Endpoint(loop, sock, None, Params())
    fw = Firmware(fu, [0, 2, 4], slot)
    if ops:
        from fota_ops import handler

        ep.serve(handler(loop, ep, fw))
    else:
        ep.serve(lambda req, peer: _package(fw, req, peer))
    mem("ready")
    out("READY", port)
    loop.run_until(lambda: fu.state != 0, 60000)  # the first block arrived
    return fu


def _package(fw, req, peer):
    # what lwm2m.ops does with a PUT before it hands the body to /5/0/0's stream: the path and
    # method checks (a streaming resource takes its Content-Formats itself, before any codec
    # is looked up)
    from coap.message import Message

    if req.path() != ("5", "0", "0"):
        return Message(code=0x84)  # 4.04
    if req.code != 3:
        return Message(code=0x85)  # 4.05: PUT only
    rx = fw.stream(0, 0, req.opt_uint(12))
    if rx is None:
        return Message(code=0x8F)  # 4.15: opaque or text here
    return rx.handle(req, peer)
