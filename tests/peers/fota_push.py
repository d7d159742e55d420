# The push half of fota_node.py (its own module, loaded only for a push): Object 5 on a
# registry, Ops and a CoAP endpoint serving /5/0/0 on 127.0.0.1:PORT, no registration.
# serve() reports "MEM ready" and "READY <port>" through fota_node's mem() and out(), waits
# for the first block and returns the FirmwareUpdate; `watch(n)` (or None) sees the bytes
# that reach the slot writer. starve=N: after N datagrams every receive finds no heap (a
# heap that filled up mid-push), and a push gives up 3 s after its last block, as
# agent.firmware's FirmwareUpdate would after 247 s.


def serve(loop, flash, writer, slot, port, mem, out, watch=None, starve=None):
    from port.net import udp_socket
    from time import time
    from coap.endpoint import Endpoint, Params
    from coap.observe import Observers
    from fota.journal import Journal
    from fota.update import FirmwareUpdate
    from lwm2m.registry import Registry
    from lwm2m.notify import Notifier
    from lwm2m.ops import Ops
    from lwm2m.objects.firmware import Firmware

    class Slot:
        # the writer, counting what reaches it (the probe)
        def __getattr__(self, name):
            return getattr(writer, name)

        def write(self, off, d):
            watch(len(d))
            writer.write(off, d)

    # as agent.firmware makes it (starved() reads the endpoint made below)
    fu = FirmwareUpdate(Journal(flash.partition("journal")), writer if watch is None else Slot(),
                        clock=lambda: int(time()), starved=lambda: ep.stats["nomem"])
    if starve is not None:
        fu.push_timeout = 3
    reg = Registry()
    sock = udp_socket("127.0.0.1", port)
    ep = Endpoint(loop, sock if starve is None else _starving(sock, starve), None, Params())
    observers = Observers(ep)
    notifier = Notifier(reg, observers, None, lambda: (0, None))
    ops = Ops(reg, observers, notifier)
    notifier.render = ops.render
    ops.schedule = lambda fn, ms=100: loop.later(ms, fn)
    ep.serve(ops)
    loop.add_ticker(notifier)
    reg.add(Firmware(fu, [0, 2, 4], slot))
    mem("ready")
    out("READY", port)
    loop.run_until(lambda: fu.state != 0, 60000)  # the first block arrived
    return fu


def _starving(sock, left):
    # the serving socket on a heap that fills up: its first `left` receives work (the class
    # is made only for such a run: a heap measurement does not carry it)
    class Starving:
        def __init__(self):
            self.pollable = sock  # what the loop polls
            self.left = left

        def recvfrom(self, n):
            if self.left <= 0:
                raise MemoryError("memory allocation failed, allocating %d bytes" % n)
            self.left -= 1
            return sock.recvfrom(n)

        def __getattr__(self, name):
            return getattr(sock, name)

    return Starving()
