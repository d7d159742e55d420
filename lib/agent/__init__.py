# The device agent: builds the LwM2M client from the device's configuration, adds the
# standard objects, and ties firmware confirmation to registration (DESIGN.md: a trial
# image confirms itself only after it has registered with its LwM2M server).
# SPDX-License-Identifier: MIT
from port import board, log
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
_LEVELS = (("debug", 10), ("info", 20), ("warning", 30), ("error", 40))  # port.log's


def _provisioned(cfg, key):
    # config.load() keeps only what the client needs: the rest is read from the file
    v = cfg.get(key)
    if v is None and cfg.get("dir"):
        v = config.provisioned(cfg["dir"], key)
    return v


def _log_level(cfg):
    lvl = _provisioned(cfg, "log")
    for name, n in _LEVELS:
        if lvl == name:
            log.set_level(n)


# config "tls": {"ca": trust-anchor file for https downloads (PEM or DER, one or more
# certificates; in the state dir unless absolute; default "ca.crt"), "insecure": true to
# allow TLS downloads without server authentication}. Read once at start: /5/0/8 lists
# https only when the anchors are there (fota.download.secure.tls_context).
def download_tuning(cfg):
    t = _provisioned(cfg, "tls")
    t = t if isinstance(t, dict) else {}
    ca = t.get("ca")
    ca = ca if isinstance(ca, str) and ca else "ca.crt"
    if not ca.startswith("/"):
        ca = (cfg.get("dir") or board.state_dir()) + "/" + ca
    return {"ca": ca, "tls_insecure": 1 if t.get("insecure") is True else 0}


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

            client.firmware = firmware.install(client, start, tuning=download_tuning(cfg))
        except Exception as e:
            # no slots or keys on this board: run without firmware update, but say so
            log.warning("agent: firmware update unavailable:", e)
    return client


def run():
    client = build()
    log.info("agent: endpoint", client.rd.name, "server", client.rd.peer)
    client.run()
