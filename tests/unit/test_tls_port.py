# port.tls trust anchors (PEM / DER files, one or more certificates, refusals) and the TLS
# policy of fota.download: https (and coaps where port.dtls exists: MicroPython only) is
# listed in /5/0/8 and accepted by start() only with trust anchors or tls_insecure. Both
# runtimes (each has TLS here).
import binascii

from support import raises, tmpdir
from port import MICROPYTHON, tls, dtls
from coap.loop import Loop
from fota import download
from fota.const import FotaError

# two self-signed P-256 CA certificates (made once with tools/updraft/certs.py make_ca)
CA1 = binascii.unhexlify(
    "3082017030820116a0030201020214238f00e3bc48ac1f2340f5d74a788bbde3045c39300a06082a8648ce3d0403"
    "0230163114301206035504030c0b756e6974204341206f6e65301e170d3236313132313231343230355a170d3236"
    "313232323231343230355a30163114301206035504030c0b756e6974204341206f6e653059301306072a8648ce3d"
    "020106082a8648ce3d03010703420004892dfd0e7e246b76dad5b8476ba2f8cf957065ab804c2aa6ca331466bb33"
    "969930695023995e979e1828769d39287e7c3fd1f22a9c7d964f28bb762a94b2287ea3423040300f0603551d1301"
    "01ff040530030101ff300e0603551d0f0101ff040403020106301d0603551d0e04160414e2061d6e1e3eb2d66c92"
    "c540a2fafa431988abe3300a06082a8648ce3d040302034800304502201c9386813c8403020ac8cbbdc01135a579"
    "9d23417ca9d6db8605abd0c05c9e5e0221008c6e5ef1fc08805327a0a7422149cac403d798d34cb24a84f800ffc9"
    "d3efc7de")
CA2 = binascii.unhexlify(
    "3082017030820116a0030201020214779dfe9fbffeb2fcca7e9bcbfad5c7b0484a1547300a06082a8648ce3d0403"
    "0230163114301206035504030c0b756e69742043412074776f301e170d3236313132313231343230355a170d3236"
    "313232323231343230355a30163114301206035504030c0b756e69742043412074776f3059301306072a8648ce3d"
    "020106082a8648ce3d03010703420004f8f9207dd017195b7e5fe8d1c9b4c76540f259ad437f2d1d7f0b45b39e6e"
    "78acc6558aa70d1f1aa07df4952296365e9a4bc45dd89228c2cea50fad51e4c924c7a3423040300f0603551d1301"
    "01ff040530030101ff300e0603551d0f0101ff040403020106301d0603551d0e041604140a34dfa1230dc5fca427"
    "0973707d649241d2c4fa300a06082a8648ce3d04030203480030450220243c4c6bab4c5ab8e79b0ccce761ba01d3"
    "023132d28827e85c2589813eea906a022100f856290ee6bebf390b765735cdccca94424f726070fdb26838d5f650"
    "2176aadd")


def _pem(der):
    b = binascii.b2a_base64(der).replace(b"\n", b"")
    lines = [b[i : i + 64] for i in range(0, len(b), 64)]
    return b"-----BEGIN CERTIFICATE-----\n" + b"\n".join(lines) + b"\n-----END CERTIFICATE-----\n"


def _file(d, name, data):
    path = d + "/" + name
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_anchors_from_der_and_pem_files():
    d = tmpdir("tls")
    assert tls.anchors(_file(d, "one.der", CA1)) == [CA1]
    assert tls.anchors(_file(d, "two.der", CA1 + CA2)) == [CA1, CA2]
    pem = b"comment before\n" + _pem(CA2) + _pem(CA1)
    assert tls.anchors(_file(d, "two.pem", pem)) == [CA2, CA1]
    assert tls.anchors(d + "/missing.crt") == []


def test_anchors_refuse_what_is_not_a_certificate():
    d = tmpdir("tls")
    for name, data in (("junk", b"not a certificate"), ("short", CA1[:-1]), ("tail", CA1 + b"\x30"),
                       ("open", _pem(CA1)[:-30]), ("big", b"\x30\x84\x00\x00\x00\x01"),
                       ("huge", CA1 * 50)):
        raises(ValueError, tls.anchors, _file(d, name, data))


def test_contexts_build_on_this_runtime():
    assert tls.AVAILABLE
    tls.context([CA1, CA2])
    tls.context(None)
    # DTLS (coaps) exactly where the runtime has it: MicroPython's mbedTLS, not CPython's ssl
    assert dtls.AVAILABLE == MICROPYTHON
    if dtls.AVAILABLE:
        dtls.context([CA1, CA2])
        dtls.context(None)


def test_https_needs_trust_anchors():
    d = tmpdir("tls")
    good = _file(d, "ca.crt", _pem(CA1))
    junk = _file(d, "junk.crt", b"junk")
    assert download.protocols() == [0, 2, 4]
    assert download.protocols(ca=d + "/missing.crt") == [0, 2, 4]
    assert download.protocols(ca=junk) == [0, 2, 4]
    secure = [0, 1, 2, 3, 4] if dtls.AVAILABLE else [0, 2, 3, 4]
    assert download.protocols(ca=good) == secure
    assert download.protocols(tls_insecure=1) == secure
    loop = Loop()
    for kw in ({}, {"ca": junk}):
        e = raises(FotaError, lambda: download.start(loop, "https://127.0.0.1:1/fw", lambda o, b: None, **kw))
        assert e.result == 9, e
    # anchors present: the engine starts (and is cancelled before it connects)
    eng = download.start(loop, "https://127.0.0.1:1/fw", lambda o, b: None, ca=good)
    eng.cancel()
    assert eng.done and eng.error.result == 10
    # a CoAP engine takes the same tuning and ignores it
    eng = download.start(loop, "coap://127.0.0.1:1/fw", lambda o, b: None, ca=good, tls_insecure=1)
    eng.cancel()
    # coaps: 9 without DTLS or without anchors
    e = raises(FotaError, lambda: download.start(loop, "coaps://127.0.0.1:1/fw", lambda o, b: None))
    assert e.result == 9, e
    if not dtls.AVAILABLE:
        e = raises(FotaError, lambda: download.start(loop, "coaps://127.0.0.1:1/fw", lambda o, b: None, ca=good))
        assert e.result == 9, e
