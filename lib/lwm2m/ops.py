# Device management operations over CoAP (LwM2M 1.1 6.3, spec 3.2): the endpoint's request
# handler. Maps GET/PUT/POST/DELETE on /o/i/r/ri to Read, Discover, Observe, Write,
# Write-Attributes, Execute, Create and Delete, negotiates content formats, and answers
# every refusal with its 4.xx code. Large writes arrive block-wise (Block1).
# SPDX-License-Identifier: MIT
from port import const
from port import log
from coap.message import Message, code_str
from coap.block import Block1Receiver
from lwm2m import formats
from lwm2m.formats import FormatError, link
from lwm2m.obj import LwError, M, W
from lwm2m.registry import parse_execute_args

# CoAP numbers as private constants (coap.const has them all, with their RFC names): a
# private const is inlined by mpy-cross and costs no dict entry or qstr on the device
# (tests/unit/test_coap_const.py keeps the copies equal to coap.const)
_ACCEPT = const(17)
_BAD_REQUEST = const(0x80)  # 4.00
_BLOCK1 = const(27)
_CF_LINK = const(40)
_CF_LWM2M_TLV = const(11542)
_CF_OPAQUE = const(42)
_CF_TEXT = const(0)
_CHANGED = const(0x44)  # 2.04
_CONTENT = const(0x45)  # 2.05
_CONTENT_FORMAT = const(12)
_CREATED = const(0x41)  # 2.01
_DELETE = const(4)
_DELETED = const(0x42)  # 2.02
_GET = const(1)
_LOCATION_PATH = const(8)
_METHOD_NOT_ALLOWED = const(0x85)  # 4.05
_NOT_ACCEPTABLE = const(0x86)  # 4.06
_NOT_FOUND = const(0x84)  # 4.04
_OBSERVE = const(6)
_POST = const(2)
_PUT = const(3)
_UNSUPPORTED_CONTENT_FORMAT = const(0x8F)  # 4.15

_SMALL_WRITE = const(4096)  # block-wise writes to ordinary resources are assembled up to this


class Ops:
    def __init__(self, registry, observers, notifier):
        self.reg = registry
        self.obs = observers
        self.notifier = notifier
        self.schedule = None  # schedule(fn): run fn after the response went out
        self._rx = {}  # path -> Block1Receiver (Block1 writes in progress)

    def __call__(self, req, peer):
        try:
            path = _parse_path(req.path())
            if path is None:
                return Message(code=_NOT_FOUND)
            code = req.code
            if code == _GET:
                return self._get(req, peer, path)
            if code == _PUT:
                return self._put(req, peer, path)
            if code == _POST:
                return self._post(req, peer, path)
            if code == _DELETE:
                self.reg.delete(path)
                return Message(code=_DELETED)
            return Message(code=_METHOD_NOT_ALLOWED)
        except LwError as e:
            if e.why:
                log.info("lwm2m:", code_str(e.code), e.why)
            return Message(code=e.code)
        except FormatError as e:
            log.warning("lwm2m: bad payload:", e)
            return Message(code=_BAD_REQUEST)

    # -- GET: Read, Discover, Observe ---------------------------------------------------
    def _get(self, req, peer, path):
        accept = req.opt_uint(_ACCEPT)
        obs = req.opt_uint(_OBSERVE)
        if accept == _CF_LINK:
            if obs is not None:
                return Message(code=_NOT_ACCEPTABLE)  # a Discover is not observed
            links = self.reg.discover_links(path, self.notifier.attrs_of)
            return Message(code=_CONTENT, payload=link.encode(links)).add(_CONTENT_FORMAT, _CF_LINK)
        records = self.reg.read(path)
        cf, payload = self.encode(path, records, accept)
        m = Message(code=_CONTENT, payload=payload).add(_CONTENT_FORMAT, cf)
        if obs is not None:
            w = self.notifier.watch(path, cf, records, payload) if obs == 0 else None
            seq = self.obs.register(req, peer, path, w)
            if seq is not None:
                m.add(_OBSERVE, seq)
        return m

    def encode(self, path, records, accept):
        # -> (content format, payload). Without Accept: text/plain (opaque for opaque) for
        # one single-instance resource, TLV for everything else (what 1.0 servers expect).
        kind = self.reg.kind
        if accept is None:
            if len(path) >= 3 and len(records) == 1 and len(records[0][0]) == len(path):
                accept = _CF_OPAQUE if kind(path) == "opaque" else _CF_TEXT
            else:
                accept = _CF_LWM2M_TLV
        codec = formats.codec(accept)
        if codec is None or accept == _CF_LINK:
            raise LwError(_NOT_ACCEPTABLE, "format %d not offered" % accept)
        if codec.SINGLE and (len(path) < 3 or len(records) != 1 or len(records[0][0]) != len(path)):
            raise LwError(_NOT_ACCEPTABLE, "single-value format for many values")
        try:
            return accept, codec.encode(records, path, kind)
        except FormatError as e:
            raise LwError(_NOT_ACCEPTABLE, str(e))

    def render(self, path, cf):
        # A notification's body (lwm2m/notify.py): (code, payload, numeric value or None)
        records = self.reg.read(path)
        _, payload = self.encode(path, records, cf)
        v = records[0][1] if len(records) == 1 else None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            v = None
        return _CONTENT, payload, v

    # -- PUT: Write (replace) or Write-Attributes -------------------------------------
    def _put(self, req, peer, path):
        cf = req.opt_uint(_CONTENT_FORMAT)
        if cf is None and not req.has(_BLOCK1):
            # no payload format: Write-Attributes (LwM2M 1.1 6.3.6), 4.04 where nothing is
            self.reg.check(path)
            self.notifier.write_attributes(path, req.query())
            return Message(code=_CHANGED)
        return self._write(req, peer, path, cf, True)

    def _write(self, req, peer, path, cf, replace):
        if len(path) < 2:
            raise LwError(_METHOD_NOT_ALLOWED, "write on an object")
        # a resource that streams (the Package) takes its formats itself, before a codec is
        # looked up: a push never loads one
        stream = self._stream(path, cf) if cf is not None else None
        if stream is not None:
            return stream.handle(req, peer)
        codec = formats.codec(cf) if cf is not None else None
        if codec is None or cf == _CF_LINK:
            raise LwError(_UNSUPPORTED_CONTENT_FORMAT, "content format %s" % cf)
        if req.has(_BLOCK1):
            return self._block_write(req, peer, path, codec, replace)
        records = codec.decode(req.payload, path, self.reg.kind)
        self.reg.write(path, records, replace)
        return Message(code=_CHANGED)

    def _stream(self, path, cf):
        # An object may take a resource's body as a stream (the firmware Package): it
        # returns a Block1Receiver-like object from stream(iid, rid, cf).
        if len(path) != 3:
            return None
        o = self.reg.obj(path[0])
        fn = getattr(o, "stream", None)
        if fn is None:
            return None
        self.reg.check(path)  # as for any write: no such instance or resource is 4.04
        return fn(path[1], path[2], cf)

    def _block_write(self, req, peer, path, codec, replace):
        rx = self._rx.get(path)
        if rx is None:
            rx = self._rx[path] = Block1Receiver(_Buffer(), _SMALL_WRITE)
        resp = rx.handle(req, peer)
        if rx.complete and resp.code == _CHANGED:
            del self._rx[path]
            records = codec.decode(bytes(rx.sink.data), path, self.reg.kind)
            self.reg.write(path, records, replace)
        elif not rx.active:
            self._rx.pop(path, None)
        return resp

    # -- POST: Execute, partial update, Create ----------------------------------------
    def _post(self, req, peer, path):
        if len(path) == 1:
            cf = req.opt_uint(_CONTENT_FORMAT)
            codec = formats.codec(_CF_LWM2M_TLV if cf is None else cf)
            if codec is None:
                raise LwError(_UNSUPPORTED_CONTENT_FORMAT, "content format %s" % cf)
            records = codec.decode(req.payload, path, self.reg.kind) if req.payload else []
            iid = self.reg.create(path, records)
            return Message(code=_CREATED).add(_LOCATION_PATH, str(path[0])).add(_LOCATION_PATH, str(iid))
        if len(path) == 3 and self.reg.flags(path) & 4:
            try:
                args = parse_execute_args(bytes(req.payload).decode())
            except UnicodeError:
                raise LwError(_BAD_REQUEST, "execute arguments not text")
            self.reg.execute(path, args)
            return Message(code=_CHANGED)
        if len(path) == 3 and self.reg.flags(path) & (M | W) != M | W:
            # a resource's POST is Execute, or a partial update of a writable multiple one
            raise LwError(_METHOD_NOT_ALLOWED, "resource not executable")
        return self._write(req, peer, path, req.opt_uint(_CONTENT_FORMAT), False)


class _Buffer:
    # Block1 sink for small writes (a few KiB at most, bounded by _SMALL_WRITE).
    def begin(self, size):
        self.data = bytearray()

    def write(self, off, data):
        self.data[off:] = data

    def end(self):
        pass


def _parse_path(segs):
    # ("3", "0", "1") -> (3, 0, 1); None when not an LwM2M data-model path.
    if not 1 <= len(segs) <= 4:
        return None
    out = []
    for s in segs:
        if not s or len(s) > 5:
            return None
        for c in s:
            if not "0" <= c <= "9":
                return None
        v = int(s)
        if v >= 65535:  # 65535 is reserved (LwM2M MAX_ID)
            return None
        out.append(v)
    return tuple(out)
