# fota.download.secure: the (D)TLS context a coaps:// or https:// download authenticates its
# server with; loaded only when one of those is pulled (or protocols() has anchors to try).
# SPDX-License-Identifier: MIT
from port import const
from port import log
from fota import FotaError

# Update Results as private constants (fota.const has them all): inlined by mpy-cross, no
# qstr or dict entry on the device (tests/unit/test_fota_const.py keeps them equal)
_RESULT_OUT_OF_RAM = const(3)
_RESULT_UNSUPPORTED_PROTOCOL = const(9)


def tls_context(ca, insecure=0, quiet=False, datagram=False):
    # -> a port.tls context for a (D)TLS download that authenticates the server against
    # the trust anchors in the file `ca` (PEM or DER; the device's, never a system store).
    # Without anchors the download is refused (Result 9, and protocols() does not list
    # the scheme) unless the device is configured with tls_insecure: the image signature
    # keeps a forged package from being installed, but a client that skips server
    # authentication silently lets anyone on the path feed it junk to write to flash or
    # stall the update, and hides from the operator that it never knew whom it talked to.
    from port import tls, dtls

    if not (dtls.AVAILABLE if datagram else tls.AVAILABLE):
        raise FotaError(_RESULT_UNSUPPORTED_PROTOCOL, "no %s on this runtime" % ("DTLS" if datagram else "TLS"))
    try:
        cas = tls.anchors(ca) if ca else []
    except ValueError as e:
        if not quiet:
            log.warning("download: trust anchors in", ca, "unusable:", e)
        cas = []
    if not cas:
        if not insecure:
            raise FotaError(_RESULT_UNSUPPORTED_PROTOCOL, "no trust anchors for TLS (%s)" % ca)
        if not quiet:
            log.warning("download: TLS WITHOUT server authentication (tls_insecure is set)")
        cas = None
    try:
        return dtls.context(cas) if datagram else tls.context(cas)
    except MemoryError:
        raise FotaError(_RESULT_OUT_OF_RAM, "tls context: out of memory")
    except (ValueError, OSError) as e:
        raise FotaError(_RESULT_UNSUPPORTED_PROTOCOL, "trust anchors refused: %s" % e)
