# Stand-ins for the collaborators of fota.update.FirmwareUpdate: a RAM slot writer that
# commits whole 4 KiB sectors like fota.slots.SectorStream, a pull factory whose transfers the
# test drives by hand, a clock, and a FirmwareUpdate over a real journal on the flash model.
# SPDX-License-Identifier: MIT
from fota.const import RESULT_INTEGRITY_FAILURE, RESULT_NOT_ENOUGH_SPACE, FotaError
from fota.journal import Journal, defaults
from fota.update import FirmwareUpdate
from port.flash import SECTOR, Flash


class Info:
    def __init__(self, component="app", version=(2, 0, 0, 0)):
        self.component = component
        self.version = version

    def version_str(self):
        return "%d.%d.%d" % self.version[:3]


class Slot:
    # image bytes in RAM; committed() advances by whole sectors only (the rest is "buffered")
    def __init__(self, capacity=64 * 1024, keep=True):
        self.capacity = capacity
        self.image = bytearray(capacity if keep else 0)  # keep=False: count bytes only
        self.pos = 0
        self.done = 0
        self.is_open = False
        self.opens = []  # (size, resume_at) per open()
        self.aborts = 0
        self.activations = 0
        self.fail_open = None  # exception to raise from the next open/write/finish/activate
        self.fail_write = None
        self.fail_finish = None
        self.fail_activate = None
        self.info = Info()

    def open(self, size, resume_at=0):
        self.opens.append((size, resume_at))
        if self.fail_open is not None:
            raise self.fail_open
        if size is not None and size > self.capacity:
            raise FotaError(RESULT_NOT_ENOUGH_SPACE, "too big")
        self.pos = self.done = resume_at
        self.is_open = True

    def write(self, offset, data):
        if self.fail_write is not None:
            raise self.fail_write
        if not self.is_open:
            raise FotaError(RESULT_INTEGRITY_FAILURE, "write before open")
        if offset > self.pos:
            raise FotaError(RESULT_INTEGRITY_FAILURE, "gap")
        skip = self.pos - offset
        data = bytes(data)[skip:]
        if self.pos + len(data) > self.capacity:
            raise FotaError(RESULT_NOT_ENOUGH_SPACE, "past the slot")
        if self.image:
            self.image[self.pos : self.pos + len(data)] = data
        self.pos += len(data)
        self.done = self.pos - self.pos % SECTOR

    def committed(self):
        return self.done

    def finish(self):
        if self.fail_finish is not None:
            raise self.fail_finish
        self.done = self.pos
        return self.info

    def activate(self):
        self.activations += 1
        if self.fail_activate is not None:
            raise self.fail_activate

    def abort(self):
        self.aborts += 1
        self.is_open = False


class Transfer:
    # one pull the test drives: head(), feed(), done()
    def __init__(self, uri, sink, offset, etag, on_head, on_done):
        self.uri = uri
        self.sink = sink
        self.offset = offset
        self.etag = etag
        self.on_head = on_head
        self.on_done = on_done
        self.cancelled = False

    def cancel(self):
        self.cancelled = True

    def head(self, size, etag=b"E1", at=None):
        if at is None:
            self.on_head(size, etag)
        else:
            self.on_head(size, etag, at)

    def feed(self, data, block=1024):
        # the next len(data) bytes of the file, block by block, from where this transfer is
        for i in range(0, len(data), block):
            self.sink(self.offset + i, data[i : i + block])
        self.offset += len(data)

    def done(self, error=None):
        self.on_done(error)


class Puller:
    # the start_download factory: records transfers; `fail` is raised by the next call
    def __init__(self):
        self.transfers = []
        self.fail = None

    def __call__(self, uri, sink, offset, etag, on_head, on_done):
        if self.fail is not None:
            e, self.fail = self.fail, None
            raise e
        t = Transfer(uri, sink, offset, etag, on_head, on_done)
        self.transfers.append(t)
        return t

    @property
    def last(self):
        return self.transfers[-1]


class Clock:
    def __init__(self, t=1700000000):
        self.t = t

    def __call__(self):
        return self.t


class Rig:
    # a FirmwareUpdate with its collaborators; reboot() makes a new one over the same flash
    def __init__(self, v11=True, defer=None, retries=0, every=4096, starved=None):
        self.flash = Flash(2 * SECTOR, None, (("journal", 0, 2 * SECTOR),))
        self.slot = Slot()
        self.pull = Puller()
        self.clock = Clock()
        self.v11 = v11
        self.defer = defer
        self.retries = retries
        self.every = every
        self.starved = starved
        self.applied = 0
        self.apply_error = None
        self.events = []  # (field, state, result, changed_at) per on_change
        self.fu = self._make()

    def _make(self):
        self.journal = Journal(self.flash.partition("journal"), every=self.every)
        return FirmwareUpdate(self.journal, self.slot, self.pull, self.apply, self.clock,
                              self.changed, self.defer, self.v11, "app", self.retries, 2,
                              starved=self.starved)

    def apply(self):
        self.applied += 1
        if self.apply_error is not None:
            raise self.apply_error
        self.slot.activate()

    def changed(self, field):
        fu = self.fu
        self.events.append((field, fu.state, fu.result, fu.changed_at))

    def reboot(self):
        self.flash.power_on()
        self.slot = Slot()
        self.pull = Puller()
        self.fu = self._make()
        return self.fu

    def on_flash(self):
        # the record on flash; an untouched journal reads as the defaults
        return Journal(self.flash.partition("journal")).load() or defaults()

    def fields(self):
        return [e[0] for e in self.events]
