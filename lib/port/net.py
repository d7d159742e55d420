# Sockets the same way on MicroPython and CPython: non-blocking UDP, name resolution,
# peer addresses as hashable values, and the errno that means "nothing to read".
# MicroPython has no recvfrom_into (and readinto concatenates datagrams), so a received
# datagram is the one allocation per packet; see spec/micropython.md section 4.
# SPDX-License-Identifier: MIT
import errno
import socket

from port import MICROPYTHON

EAGAIN = errno.EAGAIN
_WOULD_BLOCK = (errno.EAGAIN, getattr(errno, "EWOULDBLOCK", errno.EAGAIN))


def resolve(host, port, stream=False):
    # -> an address usable with sendto/connect and comparable with recvfrom's.
    # Raises OSError when the name does not resolve.
    kind = socket.SOCK_STREAM if stream else socket.SOCK_DGRAM
    ai = socket.getaddrinfo(host, port, 0, kind)
    for a in ai:
        if a[0] == socket.AF_INET and (a[1] == kind or not a[1]):
            return peer_key(a[-1])
    if ai:
        return peer_key(ai[0][-1])
    raise OSError(errno.ENOENT)


def peer_key(addr):
    # MicroPython gives raw sockaddr bytes (getaddrinfo a bytearray); CPython a tuple.
    if MICROPYTHON:
        return bytes(addr)
    return addr[:2]


def peer_str(addr):
    # "ip:port" for logs; understands MicroPython's raw sockaddr_in.
    if isinstance(addr, (bytes, bytearray)):
        if len(addr) >= 8 and addr[0] == 2:
            return "%d.%d.%d.%d:%d" % (addr[4], addr[5], addr[6], addr[7], (addr[2] << 8) | addr[3])
        return repr(addr)
    return "%s:%d" % (addr[0], addr[1])


def udp_socket(host="0.0.0.0", port=0):
    # A non-blocking UDP socket bound to host:port (port 0 = ephemeral); an IPv6 host ("::")
    # makes an IPv6 socket (OSError where the port has none).
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    except (OSError, AttributeError):
        pass
    s.bind(resolve(host, port))
    s.setblocking(False)
    return s


def would_block(e):
    return e.args and e.args[0] in _WOULD_BLOCK


def drop(sock):
    # Discard the next waiting datagram without taking heap for it (when there is none to
    # take it into: MicroPython's recv(0) reads and discards; CPython's returns at once).
    try:
        sock.recv(0 if MICROPYTHON else 1)
    except (OSError, AttributeError, MemoryError):
        pass  # nothing waiting, or a socket (DTLS) that reads whole records anyway


def recvfrom(sock, size):
    # One datagram or None when nothing is waiting; the sender as peer_key() makes it (an
    # IPv6 sender comes with flow info and scope on CPython, not in resolve()'s key)
    try:
        r = sock.recvfrom(size)
    except OSError as e:
        if would_block(e):
            return None
        raise
    if not MICROPYTHON and len(r[1]) > 2:
        r = r[0], r[1][:2]
    return r
