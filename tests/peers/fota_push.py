# The push half of fota_node.py (its own module, loaded only for a push): Object 5 on a
# registry, Ops and a CoAP endpoint serving /5/0/0 on 127.0.0.1:PORT, no registration.
# serve() reports "MEM ready" and "READY <port>" through fota_node's mem() and out(), waits
# for the first block and returns the FirmwareUpdate; `watch(n)` (or None) sees the bytes
# that reach the slot writer.


def serve(loop, flash, writer, slot, port, mem, out, watch=None):
    from port.net import udp_socket
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

    fu = FirmwareUpdate(Journal(flash.partition("journal")), writer if watch is None else Slot())
    reg = Registry()
    ep = Endpoint(loop, udp_socket("127.0.0.1", port), None, Params())
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
