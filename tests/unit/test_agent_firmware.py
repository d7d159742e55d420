# agent.firmware: Update's reset waits for State 3 to be notified (spec 4.4), also when the
# server's pmin holds the notification back (real observer over loopback); what /5 reports
# after the reset when the boot could not try the activated image. Both runtimes.
from coap import const as C
from coap.message import Message, decode
from agent.firmware import reset_when_notified
from lwm2m.objects.firmware import Firmware
from lwm2mtest import Rig as LwRig
from coaptest import Raw
from fotatest import Rig as FuRig

IMAGE = bytes(range(256)) * 8


class Client:
    # what reset_when_notified uses of lwm2m.client.Client
    def __init__(self, rig):
        self.notifier = rig.notifier
        self.loop = rig.loop

    def schedule(self, fn, ms=100):
        return self.loop.later(ms, fn)


def _states_seen_at_reset(pmin):
    fu_rig = FuRig()
    rig = LwRig((Firmware(fu_rig.fu, [0], fu_rig.slot.capacity),))
    raw = Raw(rig.loop)
    seen = []

    def reset():
        seen.append([bytes(decode(g).payload) for g in raw.got if decode(g).code == C.CONTENT])

    fu_rig.fu.apply = lambda: reset_when_notified(Client(rig), reset)
    if pmin:
        assert rig.req(C.PUT, "/5/0/3", query=("pmin=%d" % pmin,)).code == C.CHANGED
    obs = Message(C.CON, C.GET, 100, b"o1", b"").add(C.OBSERVE, 0)
    for seg in ("5", "0", "3"):
        obs.add(C.URI_PATH, seg)
    raw.send(obs.encode(), rig.addr)
    raw.wait(1)
    fu_rig.fu.write_package_whole(IMAGE)  # Downloaded: State 2 notified (or held by pmin)
    assert rig.req(C.POST, "/5/0/2").code == C.CHANGED  # Execute Update
    assert rig.loop.run_until(lambda: seen, 10000)
    raw.close()
    rig.close()
    return seen[0]


def test_reset_waits_for_the_state_3_notification_pmin_holds_back():
    states = _states_seen_at_reset(2)
    assert states[0] == b"0" and states[-1] == b"3", states


def test_without_pmin_state_3_is_out_before_the_reset():
    states = _states_seen_at_reset(0)
    assert states[-1] == b"3", states


def test_an_activation_this_boot_could_not_try_stays_updating_then_reports_1():
    # after Update, power_on() cannot write the trial count (a flash fault): fallback() runs
    # the confirmed slot and the activation waits. /5 stays Updating (not 8, which the next
    # boot would contradict by trying and confirming the image), then reports 1.
    import fakeimage
    from agent.firmware import _report_boot
    from fota.boot import Boot
    from fota.boot.record import RecordStore
    from fota.slots.ab import ABWriter
    from port.flash import SECTOR, Flash

    table = (("bootctl", 0, 2 * SECTOR), ("app_a", 2 * SECTOR, 6 * SECTOR), ("app_b", 8 * SECTOR, 6 * SECTOR))
    flash = Flash(14 * SECTOR, None, table)
    parts = (flash.partition("app_a"), flash.partition("app_b"))
    parts[0].write(0, fakeimage.make(b"v1" * 50, (1, 0, 0, 0)))

    def boot():
        return Boot(RecordStore(flash.partition("bootctl")), parts, (b"k1",), fakeimage)

    b = boot()
    b.power_on()
    w = ABWriter(b, (b"k1",), fakeimage)
    img = fakeimage.make(bytes(range(256)) * 20, (1, 1, 0, 0))
    w.open(len(img))
    w.write(0, img)
    w.finish()
    fu_rig = FuRig()
    fu_rig.fu.apply = w.activate
    fu_rig.fu.write_package_whole(IMAGE)
    fu_rig.fu.execute_update()
    assert fu_rig.fu.state == 3

    class Start:
        selected = None

        def __init__(self, b):
            self.b = b

        def boot(self):
            return self.b

    class NoClient:
        on_registered = []

    b = boot()
    save = b.store.save

    def fault(rec):
        raise OSError(5)

    b.store.save = fault
    try:
        b.power_on()
    except OSError:
        pass
    b.store.save = save
    start = Start(b)
    start.selected = b.fallback()
    assert start.selected.slot == 0 and not start.selected.trial
    _report_boot(fu_rig.fu, start, NoClient())
    assert (fu_rig.fu.state, fu_rig.fu.result) == (3, 0)
    # the next boot tries it; once confirmed (after registering) /5 says 1
    b = boot()
    start = Start(b)
    start.selected = b.power_on()
    assert start.selected.trial
    client = NoClient()
    client.on_registered = []
    _report_boot(fu_rig.fu, start, client)
    assert b.confirm()
    for fn in client.on_registered:
        fn()
    assert (fu_rig.fu.state, fu_rig.fu.result) == (0, 1)
