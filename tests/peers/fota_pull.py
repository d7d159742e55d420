# The pull half of fota_node.py (its own module, loaded only for a pull): the device's
# FirmwareUpdate given a Package URI, as Object 5 gives it one on a Write of /5/0/1, with a
# fota.download engine started as agent.firmware's Pull does (without its restarts and
# progress log). start() reports "MEM download" and "MEM ready" (before the write) and returns
# the FirmwareUpdate and the ticks_us() of the write; `watch(n)` (or None) sees the bytes that
# reach the slot writer. formats=True: with the content-format layer a registered client has
# loaded, the URI decoded from a text/plain Write as lwm2m.ops decodes it (lwm2m.formats and
# formats.text).


def start(loop, flash, writer, uri, mem, out, watch=None, formats=False):
    from port import ticks_us
    from fota import download
    from fota.journal import Journal
    from fota.update import FirmwareUpdate
    from fota import FotaError  # as device modules do: fota.const is not loaded

    if formats:
        from lwm2m.formats import codec

        uri = codec(0).decode(uri.encode(), (5, 0, 1), lambda path: "str")[0][1]  # text/plain
    mem("download")

    def start_download(uri, sink, offset, etag, on_head, on_done):
        def data(off, d):
            if watch is not None:
                watch(len(d))
            sink(off, d)

        return download.start(loop, uri, data, offset, etag, lambda size, etag: on_head(size, etag, offset),
                              lambda eng: on_done(eng.error))

    fu = FirmwareUpdate(Journal(flash.partition("journal")), writer, start_download=start_download)
    mem("ready")
    t0 = ticks_us()  # an engine may do part of the transfer inside the write
    try:
        fu.write_uri(uri)
    except FotaError as e:
        out("REFUSED", e.result)  # the failure is State/Result now (the object answers 2.04)
    return fu, t0
