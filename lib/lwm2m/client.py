# The LwM2M client: one loop, one CoAP endpoint, the registry with its objects, operations,
# notifications and the registration client, wired together. main.py builds it from the
# device's persisted configuration (lwm2m/config.py) and runs it.
# SPDX-License-Identifier: MIT
from port import log
from port.net import udp_socket, resolve
from coap.loop import Loop
from coap.endpoint import Endpoint, Params
from coap.observe import Observers
from coap.uri import split
from lwm2m.registry import Registry
from lwm2m.notify import Notifier
from lwm2m.ops import Ops
from lwm2m.rd import Registration


class Client:
    def __init__(self, name, server_uri, lifetime=86400, binding="U", objects=(), loop=None,
                 port=0, params=None, retry_s=2):
        self.loop = loop or Loop()
        self.registry = Registry()
        for o in objects:
            self.registry.add(o)
        self.ep = Endpoint(self.loop, udp_socket("0.0.0.0", port), None, params or Params())
        self.observers = Observers(self.ep)
        self.notifier = Notifier(self.registry, self.observers, None, self.default_periods)
        self.ops = Ops(self.registry, self.observers, self.notifier)
        self.notifier.render = self.ops.render
        self.ops.schedule = self.schedule
        self.ep.serve(self.ops)
        self.loop.add_ticker(self.notifier)
        scheme, host, sport, _, _ = split(server_uri)
        if scheme != "coap":
            # DTLS (coaps) needs the port's TLS; until then refuse clearly instead of
            # talking plain CoAP to a secure port
            raise ValueError("unsupported LwM2M server scheme: " + scheme)
        self.server = resolve(host, sport)
        self.rd = Registration(self.loop, self.ep, self.registry, self.server, name, lifetime,
                               binding, retry_s=retry_s, on_state=self._on_rd)
        self.registry.on_structure = self._structure_changed
        self.on_registered = []  # callables run after each successful registration
        self._seen = 0

    def schedule(self, fn, ms=100):
        # Run fn after the current response has gone out (Reboot, Update, Disable).
        return self.loop.later(ms, fn)

    def default_periods(self):
        # (pmin, pmax) from the Server object, LwM2M 1.1 E.2 resources 2 and 3
        srv = self.registry.objects.get(1)
        if srv is None or not srv.data:
            return 0, None
        inst = srv.data[srv.instances()[0]]
        return inst.get(2, 0) or 0, inst.get(3) or None

    def _structure_changed(self):
        self.rd.update(objects=True)

    def _on_rd(self, rd):
        # once per successful Register (not after every Update)
        if rd.state == "registered" and rd.registrations != self._seen:
            self._seen = rd.registrations
            for fn in self.on_registered:
                try:
                    fn()
                except Exception as e:
                    log.error("client: on_registered hook failed", e)

    def start(self):
        self.rd.start()

    def run(self):
        self.start()
        self.loop.run_forever()

    def stop(self, timeout_ms=3000):
        # De-register, then close the socket (shutdown path).
        done = []
        self.rd.deregister(lambda: done.append(1))
        self.loop.run_until(lambda: done, timeout_ms)
        self.ep.close()
