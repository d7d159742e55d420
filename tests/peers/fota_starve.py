# fota_push.py's socket on a heap that fills up (its own module: a heap measurement does not
# carry it): the first `left` receives work, then every one raises MemoryError.


def starving(sock, left):
    class Starving:
        def __init__(self):
            self.pollable = sock  # what the loop polls
            self.left = left

        def recvfrom(self, n):
            if self.left <= 0:
                raise MemoryError("memory allocation failed, allocating %d bytes" % n)
            self.left -= 1
            return sock.recvfrom(n)

        def __getattr__(self, name):
            return getattr(sock, name)

    return Starving()
