# agent.firmware's Update: the reset waits for State 3 to be notified (spec 4.4), also when
# the server's pmin holds the notification back. Real observer over loopback; both runtimes.
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
