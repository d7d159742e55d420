# The device agent: builds the LwM2M client from the device's configuration, adds the
# standard objects, and ties firmware confirmation to registration (DESIGN.md: a trial
# image confirms itself only after it has registered with its LwM2M server).
# SPDX-License-Identifier: MIT
from port import log
from lwm2m import config
from lwm2m.client import Client
from lwm2m.objects.device import Device, PACKAGE_VERSION
from lwm2m.objects.connmon import ConnMon


def _account(cfg):
    for a in cfg["servers"]:
        if not a.get("bootstrap"):
            return a
    raise ValueError("no LwM2M server configured")


def _boot():
    # What boot.py chose this power-on (None when the board has no slot boot).
    try:
        import fota.boot.start as start

        return start, start.selected
    except Exception as e:
        log.warning("agent: no boot selection:", e)
        return None, None


def running_version(sel):
    info = sel.info if sel is not None else None
    if info is not None and getattr(info, "version", None):
        v = info.version
        return "%d.%d.%d" % (v[0], v[1], v[2]) + ("+%d" % v[3] if v[3] else "")
    return PACKAGE_VERSION


# config "log": the device log's level (progress lines of a download are info)
_LEVELS = (("debug", log.DEBUG), ("info", log.INFO), ("warning", log.WARNING), ("error", log.ERROR))


def _log_level(cfg):
    lvl = cfg.get("log")
    if lvl is None and cfg.get("dir"):  # config.load() keeps only what the client needs
        prov = config._read(cfg["dir"] + "/" + config.PROVISION, 16384)
        lvl = prov.get("log") if isinstance(prov, dict) else None
    for name, n in _LEVELS:
        if lvl == name:
            log.set_level(n)


def build(cfg=None, **kw):
    cfg = cfg or config.load()
    _log_level(cfg)
    acc = _account(cfg)
    client = Client(cfg["endpoint"], acc["uri"], lifetime=acc.get("lifetime", 86400),
                    binding=acc.get("binding", "U"), **kw)
    reg = client.registry
    sec, srv = config.build(reg, cfg)
    start, sel = _boot()
    client.device = reg.add(Device(firmware_version=lambda: running_version(sel), schedule=client.schedule))
    client.connmon = reg.add(ConnMon())
    rd = client.rd

    # /1 hooks run inside a request handler: they only schedule work for after the response
    def update_trigger(iid):
        client.schedule(rd.update, 0)

    def config_change(iid):
        rd.lifetime = srv.lifetime(iid)
        rd.binding = srv.binding(iid)
        client.schedule(lambda: rd.update(params=True), 0)

    def disable(iid, timeout_s):
        def go():
            rd.deregister(lambda: client.loop.later(int(timeout_s * 1000), rd.start))

        client.schedule(go, 0)

    srv.on_update_trigger = update_trigger
    srv.on_config_change = config_change
    srv.on_disable = disable

    if sel is not None and sel.trial:
        def confirm():
            try:
                # start.confirm() refuses a trial whose app never mounted: it proved nothing
                if start.confirm():
                    log.info("agent: trial image confirmed after registration")
            except Exception as e:
                log.error("agent: confirm failed", e)

        client.on_registered.append(confirm)

    # after confirm() in on_registered: /5 reports success only once the trial is confirmed
    if start is not None and sel is not None:
        try:
            from agent import firmware

            client.firmware = firmware.install(client, start)
        except Exception as e:
            # no slots or keys on this board: run without firmware update, but say so
            log.warning("agent: firmware update unavailable:", e)
    return client


def run():
    client = build()
    log.info("agent: endpoint", client.rd.name, "server", client.rd.peer)
    client.run()
