# An aiocoap file server for interop tests (CPython only): serves /fw with the bytes of
# the file given on the command line. Prints READY when listening.
import asyncio
import sys

import aiocoap
import aiocoap.resource as resource


class File(resource.Resource):
    def __init__(self, data):
        super().__init__()
        self.data = data

    async def render_get(self, request):
        return aiocoap.Message(payload=self.data)


async def main(port, path):
    data = open(path, "rb").read()
    site = resource.Site()
    site.add_resource(["fw"], File(data))
    await aiocoap.Context.create_server_context(site, bind=("127.0.0.1", port))
    print("READY", flush=True)
    await asyncio.sleep(600)


asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
