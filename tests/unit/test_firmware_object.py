# Object /5 over real CoAP on loopback, with the real state machine, journal, A/B slot
# writer, boot record and image check on an in-memory NOR chip (both runtimes).
import sys

from coap import const as C
from coap.transfer import BlockPush
from coap.message import Message, decode
from fota import image
from fota.boot import Boot
from fota.const import FotaError
from fota.boot.record import RecordStore
from fota.journal import Journal
from fota.slots.ab import ABWriter
from fota.update import FirmwareUpdate
from lwm2m.formats import tlv, b64
from lwm2m.objects.firmware import Firmware
from lwm2mtest import Rig
from coaptest import Raw, run
from port.flash import SECTOR, Flash

VEC = __file__.rsplit("/", 2)[0] + "/vectors/"
if VEC not in sys.path:
    sys.path.append(VEC)
import vector_keys  # noqa: E402

TABLE = (("bootctl", 0, 2 * SECTOR), ("journal", 2 * SECTOR, 2 * SECTOR),
         ("app_a", 4 * SECTOR, 4 * SECTOR), ("app_b", 8 * SECTOR, 4 * SECTOR))


def load(name):
    with open(VEC + name + ".bin", "rb") as f:
        return f.read()


class Board:
    def __init__(self):
        self.flash = Flash(12 * SECTOR, None, TABLE)
        keys = image.from_module(vector_keys)
        parts = (self.flash.partition("app_a"), self.flash.partition("app_b"))
        self.boot = Boot(RecordStore(self.flash.partition("bootctl")), parts, keys)
        self.writer = ABWriter(self.boot, keys, component="app")
        self.applied = []
        self.fu = FirmwareUpdate(Journal(self.flash.partition("journal")), self.writer,
                                 apply=self.apply, clock=lambda: 1700000000, component="app")
        self.obj = Firmware(self.fu, [0, 2], 4 * SECTOR)
        self.rig = Rig((self.obj,))

    def apply(self):
        self.writer.activate()
        self.applied.append(1)

    def read(self, rid):
        m = self.rig.req(C.GET, "/5/0/%d" % rid)
        return bytes(m.payload).decode()

    def push(self, data, szx=4, cf=C.CF_OPAQUE):
        p = BlockPush(self.rig.srv, self.rig.addr, ("5", "0", "0"), lambda o, n: data[o : o + n], len(data),
                      szx=szx, content_format=cf).start()
        run(self.rig.loop, lambda: p.done, 5000)
        return p


def test_push_verify_update_and_report():
    b = Board()
    assert b.read(3) == "0" and b.read(5) == "0"
    p = b.push(load("ec"))
    assert p.error is None and p.code == C.CHANGED
    assert b.read(3) == "2" and b.read(5) == "0"
    assert b.read(6) == "app" and b.read(7) == "1.2.3+4"
    assert b.rig.req(C.POST, "/5/0/2").code == C.CHANGED
    assert b.read(3) == "3" and b.applied == [1]
    assert b.boot.power_on().slot == 1, "the pushed image boots next, in trial"
    rec = tlv.decode(bytes(b.rig.req(C.GET, "/5/0").payload), (5, 0), b.rig.registry.kind)
    assert dict(rec)[(5, 0, 9)] == 2 and dict(rec)[(5, 0, 8, 1)] == 2
    b.rig.close()


def test_base64_text_push_like_wakaama():
    b = Board()
    text = b64.encode(load("ec")).encode()
    p = b.push(text, szx=4, cf=C.CF_TEXT)
    assert p.error is None and b.read(3) == "2" and b.read(7) == "1.2.3+4"
    b.rig.close()


def test_bad_images_leave_idle_with_the_right_result():
    for name, result in (("ec-other", "5"), ("unsigned", "5"), ("ec-nocomp", "6")):
        b = Board()
        data = bytearray(load(name))
        p = b.push(bytes(data))
        assert p.code == C.CHANGED, name  # the Write succeeded; the Result says why not
        assert (b.read(3), b.read(5)) == ("0", result), name
        assert b.rig.req(C.POST, "/5/0/2").code == C.METHOD_NOT_ALLOWED
        b.rig.close()
    b = Board()
    data = bytearray(load("ec"))
    data[1000] ^= 1  # body tamper
    b.push(bytes(data))
    assert (b.read(3), b.read(5)) == ("0", "5")
    b.rig.close()


def test_too_large_push_gets_413_and_result_2():
    b = Board()
    p = b.push(bytes(5 * SECTOR), szx=6)
    assert p.code == C.REQUEST_ENTITY_TOO_LARGE
    assert (b.read(3), b.read(5)) == ("0", "2")
    b.rig.close()


def test_empty_package_and_empty_uri_reset():
    b = Board()
    b.push(load("ec"))
    assert b.read(3) == "2"
    assert b.rig.req(C.PUT, "/5/0/0", b"", cf=C.CF_OPAQUE).code == C.CHANGED
    assert (b.read(3), b.read(5)) == ("0", "0")
    b.push(load("ec"))
    assert b.rig.req(C.PUT, "/5/0/1", b"", cf=C.CF_TEXT).code == C.CHANGED
    assert b.read(3) == "0"
    b.rig.close()


def test_package_of_an_instance_that_is_not_there_is_4_04():
    # Object 5 has instance 0 only: a push to /5/7/0 is refused before it reaches the stream
    b = Board()
    assert b.rig.req(C.PUT, "/5/7/0", load("ec")[:64], cf=C.CF_OPAQUE).code == C.NOT_FOUND
    assert b.rig.req(C.PUT, "/5/7/0", b"", cf=C.CF_OPAQUE).code == C.NOT_FOUND
    assert (b.read(3), b.read(5)) == ("0", "0")
    b.rig.close()


def test_package_in_tlv_or_senml_is_decoded_not_taken_as_the_image():
    # a TLV or SenML body wraps the value: a NULL in it resets (T7), as an opaque one does;
    # only opaque and base64 text stream into the slot as they come
    b = Board()
    b.push(load("ec"))
    null = tlv.encode([((5, 0, 0), b"\x00")], (5, 0, 0))
    assert b.rig.req(C.PUT, "/5/0/0", null, cf=C.CF_LWM2M_TLV).code == C.CHANGED
    assert (b.read(3), b.read(5)) == ("0", "0")
    b.push(load("ec"))
    senml = b'[{"bn":"/5/0/0","vd":"AA"}]'  # base64url of 0x00
    assert b.rig.req(C.PUT, "/5/0/0", senml, cf=C.CF_SENML_JSON).code == C.CHANGED
    assert (b.read(3), b.read(5)) == ("0", "0")
    b.push(load("ec"))
    assert b.rig.req(C.PUT, "/5/0/0", b"AA==", cf=C.CF_TEXT).code == C.CHANGED  # NULL in base64
    assert (b.read(3), b.read(5)) == ("0", "0")
    b.rig.close()


def test_package_is_there_but_write_only():
    # spec 3.2: a Read of a W-only resource is 4.05 (not 4.04: it exists); Discover lists it
    b = Board()
    assert b.rig.req(C.GET, "/5/0/0").code == C.METHOD_NOT_ALLOWED
    links = bytes(b.rig.req(C.GET, "/5/0", accept=C.CF_LINK).payload)
    assert b"</5/0/0>" in links
    assert not bytes(b.rig.req(C.GET, "/5/0").payload).startswith(b"\xc0\x00")  # not in a Read
    b.rig.close()


def _no_ftp(*args):
    raise FotaError(9, "scheme ftp")  # what fota.download.start says for a scheme it lacks


def test_uri_unsupported_scheme_is_400_and_result_9():
    b = Board()
    b.fu.start_download = _no_ftp
    assert b.rig.req(C.PUT, "/5/0/1", b"ftp://x/fw", cf=C.CF_TEXT).code == C.BAD_REQUEST
    assert (b.read(3), b.read(5)) == ("0", "9")
    b.rig.close()


def test_state_is_observable():
    b = Board()
    raw = Raw(b.rig.loop)
    m = Message(C.CON, C.GET, 1, b"st").add(C.OBSERVE, 0)
    for s in ("5", "0", "3"):
        m.add(C.URI_PATH, s)
    raw.send(m.encode(), b.rig.addr)
    raw.wait(1)
    b.push(load("ec"))
    raw.wait(3, 3000)  # Downloading, then Downloaded
    values = [bytes(decode(g).payload) for g in raw.got]
    assert values[0] == b"0" and b"2" in values[1:]
    raw.close(); b.rig.close()


def test_an_observed_instance_gets_one_notification_per_change_not_per_field():
    # a change of State moves Result and Last State Change Time with it: one notification
    # carries them (found by review: 9 notifications, byte-identical in pairs, for 3 changes)
    b = Board()
    raw = Raw(b.rig.loop)
    m = Message(C.CON, C.GET, 1, b"in").add(C.OBSERVE, 0).add(C.URI_PATH, "5").add(C.URI_PATH, "0")
    raw.send(m.encode(), b.rig.addr)
    raw.wait(1)
    b.push(load("ec"))
    assert b.rig.req(C.POST, "/5/0/2").code == C.CHANGED
    b.rig.loop.run_until(lambda: False, 300)
    bodies = [bytes(decode(g).payload) for g in raw.got]
    assert len(bodies) >= 3, len(bodies)  # the read, Downloading..Downloaded, Updating
    for a, c in zip(bodies, bodies[1:]):
        assert a != c, "the same body notified twice"
    raw.close(); b.rig.close()


def test_cancel_and_severity():
    b = Board()
    b.push(load("ec"))
    assert b.rig.req(C.PUT, "/5/0/11", b"7", cf=C.CF_TEXT).code == C.BAD_REQUEST
    assert b.rig.req(C.PUT, "/5/0/11", b"0", cf=C.CF_TEXT).code == C.CHANGED
    assert b.read(11) == "0"
    assert b.rig.req(C.POST, "/5/0/10").code == C.CHANGED
    assert (b.read(3), b.read(5)) == ("0", "10")
    assert b.rig.req(C.POST, "/5/0/10").code == C.METHOD_NOT_ALLOWED  # nothing to cancel
    b.rig.close()


def test_update_after_a_reset_in_downloaded_reverifies_the_slot():
    b = Board()
    b.push(load("ec"))
    assert b.read(3) == "2"
    # power cycle: a new state machine and writer over the same flash and journal
    keys = image.from_module(vector_keys)
    writer = ABWriter(b.boot, keys, component="app")
    fu = FirmwareUpdate(Journal(b.flash.partition("journal")), writer, apply=writer.activate,
                        clock=lambda: 1700000001, component="app")
    assert (fu.state, fu.result, fu.version) == (2, 0, "1.2.3+4")
    fu.execute_update()
    assert fu.state == 3 and b.boot.power_on().slot == 1
    b.rig.close()


def test_update_after_reset_refuses_a_slot_damaged_meanwhile():
    b = Board()
    b.push(load("ec"))
    part = b.flash.partition("app_b")
    part.erase(0)  # the header sector is gone
    keys = image.from_module(vector_keys)
    writer = ABWriter(b.boot, keys, component="app")
    fu = FirmwareUpdate(Journal(b.flash.partition("journal")), writer, apply=writer.activate,
                        clock=lambda: 1700000001, component="app")
    try:
        fu.execute_update()
    except FotaError as e:
        assert e.result == 5
    assert (fu.state, fu.result) == (0, 5) and b.boot.power_on().slot == 0
    b.rig.close()
