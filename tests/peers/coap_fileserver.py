# An aiocoap file server for download tests (CPython only): serves every file of DIR (as
# present at start) at /<name> over UDP and TCP (RFC 8323) on PORT, with an ETag derived from the content, so
# it stays the same across requests and connections (unlike libcoap 4.3.1's coap-server,
# whose ETag is a per-transfer counter). Files are re-read when they change, which lets a
# test replace the image between two pulls. Prints READY when listening.
#   coap_fileserver.py PORT DIR [udp|tcp|both]
import asyncio
import hashlib
import os
import sys

import aiocoap
import aiocoap.resource as resource


class File(resource.Resource):
    def __init__(self, path):
        super().__init__()
        self.path = path
        self.cache = None

    async def render_get(self, request):
        try:
            st = os.stat(self.path)
        except OSError:
            return aiocoap.Message(code=aiocoap.NOT_FOUND)
        key = (st.st_mtime_ns, st.st_size)
        if self.cache is None or self.cache[0] != key:
            data = open(self.path, "rb").read()
            self.cache = (key, data, hashlib.sha256(data).digest()[:8])
        data = self.cache[1]
        m = aiocoap.Message(code=aiocoap.CONTENT, payload=data)
        m.opt.etag = self.cache[2]
        b2 = request.opt.block2
        if b2 is None and len(data) <= 1024:
            return m
        # slice the block asked for ourselves: aiocoap's own Block2 cache answers 4.08 to a
        # request that starts past block 0 (a resume)
        num, szx = (0, 6) if b2 is None else (b2.block_number, b2.size_exponent)
        bert = 1024 * (request.remote.maximum_payload_size // 1024) if szx == 7 else 0
        if szx == 7 and bert < 1024:
            num, szx = num, 6
        try:
            m = m._extract_block(num, szx, bert)
        except aiocoap.error.BadRequest:
            return aiocoap.Message(code=aiocoap.BAD_REQUEST)
        if num == 0:
            m.opt.size2 = len(data)
        return m

    async def needs_blockwise_assembly(self, request):
        return False


async def main(port, root, which):
    transports = {"udp": ["udp6"], "tcp": ["tcpserver"], "both": ["udp6", "tcpserver"]}[which]
    site = resource.Site()
    for name in sorted(os.listdir(root)):
        site.add_resource([name], File(os.path.join(root, name)))
    await aiocoap.Context.create_server_context(site, bind=("127.0.0.1", port), transports=transports)
    print("READY", flush=True)
    await asyncio.sleep(3600)


asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "both"))
