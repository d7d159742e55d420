# fota_push.py's dispatch as the device's client does it (its own module, loaded only when
# asked for): Object 5 on a Registry, requests through lwm2m.ops with an Observers and a
# Notifier, no registration. handler(loop, ep, fw) -> the endpoint's request handler.


def handler(loop, ep, fw):
    from coap.observe import Observers
    from lwm2m.registry import Registry
    from lwm2m.notify import Notifier
    from lwm2m.ops import Ops

    reg = Registry()
    observers = Observers(ep)
    notifier = Notifier(reg, observers, None, lambda: (0, None))
    ops = Ops(reg, observers, notifier)
    notifier.render = ops.render
    ops.schedule = lambda fn, ms=100: loop.later(ms, fn)
    loop.add_ticker(notifier)
    reg.add(fw)
    return ops
