# fota.download http:// engine against a scripted server, on CPython and MicroPython:
# message framing (Content-Length, Transfer-Encoding, trailers; RFC 9112 6), Content-Range
# of a 206 (a short range continues, a different size restarts; RFC 9110 14.4, 15.3.7),
# header values that are not UTF-8, relative redirects (RFC 3986 5.2) and the request target.
import socket
import threading
import time

import pytest

from dlpeers import fetch, sha

RUNTIMES = ["cpython", "micropython"]
FAST = {"retries": 1, "backoff_ms": 20, "timeout_ms": 1000}
BODY = bytes(range(100))


class Script:
    # A TCP server that answers its i-th connection with replies[i] (bytes to send, or a
    # float: seconds to pause), then closes it; reqs: every request as it arrived.
    def __init__(self, *replies):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(8)
        self.port = self.s.getsockname()[1]
        self.replies = list(replies)
        self.reqs = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while self.replies:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            with c:
                c.settimeout(5)
                req = b""
                try:
                    while b"\r\n\r\n" not in req:
                        d = c.recv(4096)
                        if not d:
                            break
                        req += d
                    self.reqs.append(req)
                    for piece in self.replies.pop(0):
                        if isinstance(piece, float):
                            time.sleep(piece)
                        else:
                            c.sendall(piece.replace(b"@PORT@", b"%d" % self.port))
                except OSError:
                    pass

    def url(self, path="fw"):
        return "http://127.0.0.1:%d%s" % (self.port, path if path[0] in "#?" else "/" + path)

    def line(self, i):
        # the request line of the i-th request
        return self.reqs[i].split(b"\r\n")[0].decode("latin-1")

    def stop(self):
        self.s.close()


def run(runtime, replies, path="fw", uri=None, **kv):
    srv = Script(*replies)
    try:
        kv = dict(FAST, **kv)
        return fetch(runtime, uri or srv.url(path), **kv), srv
    finally:
        srv.stop()


def ok200(body=BODY, extra=b""):
    return [b"HTTP/1.1 200 OK\r\n" + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body]


# -- 1: Content-Length ----------------------------------------------------------------------
@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("field", [b"Content-Length: 1OO", b"Content-Length: -5", b"Content-Length: +100",
                                   b"Content-Length: 100, 50", b"Content-Length: ", b"Content-Length:\r\n 100",
                                   b"Content-Length : 100", b"Content-Length: 100\r\nContent-Length: 50"])
def test_invalid_content_length_is_a_framing_error(runtime, field):
    r, _ = run(runtime, [[b"HTTP/1.1 200 OK\r\n" + field + b"\r\n\r\n" + BODY[:60]]])
    assert (r["result"], r["bytes"], r["attempts"]) == (4, 0, 1), r["out"]
    assert "Content-Length" in r["reason"], r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("field", [b"Content-Length: 100 , 100", b"Content-Length: 100\r\ncontent-length:100"])
def test_content_length_list_of_one_value(runtime, field):
    h = b"HTTP/1.1 200 OK\r\n" + field + b"\r\n\r\n"
    r, _ = run(runtime, [[h + BODY]])
    assert (r["result"], r["bytes"], r["size"], r["sha"]) == (0, 100, 100, sha(BODY)), r["out"]
    # and it frames the body: cut short, it is not complete
    r, _ = run(runtime, [[h + BODY[:60]]], retries=0)
    assert (r["result"], r["reason"]) == (4, "connection closed"), r["out"]


# -- 2, 3: Content-Range of a 206 -------------------------------------------------------------
def r206(first, last, total, etag=b'"e1"', clen=None):
    body = BODY[first : last + 1]
    return [b"HTTP/1.1 206 Partial Content\r\nETag: %s\r\nContent-Range: bytes %d-%d/%d\r\nContent-Length: %d\r\n\r\n"
            % (etag, first, last, total, len(body) if clen is None else clen) + body]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_short_range_continues_from_its_end(runtime):
    r, srv = run(runtime, [r206(50, 59, 100), r206(60, 99, 100)], offset=50, etag=b'"e1"'.hex())
    assert (r["result"], r["offset"], r["bytes"], r["sha"]) == (0, 100, 50, sha(BODY[50:])), r["out"]
    assert b"Range: bytes=60-\r\n" in srv.reqs[1] and b'If-Match: "e1"\r\n' in srv.reqs[1]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("bad", [(50, 59, 100, 20), (50, 120, 100, None), (50, 40, 100, None)])
def test_content_range_inconsistent_with_the_body(runtime, bad):
    first, last, total, clen = bad
    head = b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %d-%d/%d\r\nContent-Length: %d\r\n\r\n" % (
        first, last, total, clen or 10)
    r, _ = run(runtime, [[head + BODY[50:70]]], offset=50, etag=b'"e1"'.hex())
    assert (r["result"], r["bytes"], r["reason"]) == (4, 0, "bad Content-Range"), r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("etag", [None, b'W/"v"'])
def test_retry_without_strong_etag_refuses_another_size(runtime, etag):
    # a lost connection at 50, then the file on the server is another one (200 bytes)
    e = b"" if etag is None else b"ETag: " + etag + b"\r\n"
    first = [b"HTTP/1.1 200 OK\r\n" + e + b"Content-Length: 100\r\n\r\n" + BODY[:50]]
    other = [b"HTTP/1.1 206 Partial Content\r\n" + e + b"Content-Range: bytes 50-199/200\r\n"
             b"Content-Length: 150\r\n\r\n" + bytes(150)]
    r, _ = run(runtime, [first, other])
    assert (r["result"], r["restart"], r["offset"], r["attempts"]) == (4, 1, 50, 2), r["out"]
    same = [b"HTTP/1.1 206 Partial Content\r\n" + e + b"Content-Range: bytes 50-99/100\r\n"
            b"Content-Length: 50\r\n\r\n" + BODY[50:]]
    r, _ = run(runtime, [first, same])
    assert (r["result"], r["sha"], r["attempts"]) == (0, sha(BODY), 2), r["out"]


# -- 4: header values that are not UTF-8 -------------------------------------------------------
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_undecodable_location(runtime):
    r, _ = run(runtime, [ok200(extra=b"Location: /caf\xe9\r\n")])
    assert (r["result"], r["sha"]) == (0, sha(BODY)), r["out"]  # not a redirect: not looked at
    r, srv = run(runtime, [[b"HTTP/1.1 302 Found\r\nLocation: /caf\xe9\r\nContent-Length: 0\r\n\r\n"]])
    assert (r["result"], r["reason"], len(srv.reqs)) == (7, "bad redirect", 1), r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_etag_with_obs_text_is_sent_back_as_it_came(runtime):
    etag = b'"caf\xe9"'
    first = [b"HTTP/1.1 200 OK\r\nETag: " + etag + b"\r\nContent-Length: 100\r\n\r\n" + BODY[:30]]
    rest = r206(30, 99, 100, etag=etag)
    r, srv = run(runtime, [first, rest])
    assert (r["result"], r["sha"], r["etag"]) == (0, sha(BODY), etag.hex()), r["out"]
    assert b"If-Match: " + etag + b"\r\n" in srv.reqs[1]
    r, srv = run(runtime, [r206(30, 99, 100, etag=etag)], offset=30, etag=etag.hex())  # a resume
    assert r["result"] == 0 and b"If-Match: " + etag + b"\r\n" in srv.reqs[0], r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("etag", [b"abc", b'"a"b"', b'"a\x7f"', b'"a b"', b'W/x'])
def test_malformed_etag_is_ignored(runtime, etag):
    r, _ = run(runtime, [ok200(extra=b"ETag: " + etag + b"\r\n")])
    assert (r["result"], r["sha"], r["etag"]) == (0, sha(BODY), "-"), r["out"]


# -- 5, 7: redirects and the request target ----------------------------------------------------
@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("location,target", [
    (b"new.bin", "/dir/new.bin"), (b"../x/new.bin", "/x/new.bin"), (b"?v=2", "/dir/fw.bin?v=2"),
    (b"//127.0.0.1:@PORT@/p?q#f", "/p?q"), (b"./a/./b/../c/..", "/dir/a/"), (b"/abs/../y", "/y"),
    (b"HTTP://127.0.0.1:@PORT@/abs", "/abs"), (b"#f", "/dir/fw.bin"), (b"../../..", "/"),
    (b"/caf\xc3\xa9 x", "/caf%C3%A9%20x")])
def test_relative_redirects(runtime, location, target):
    moved = [b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n"]
    r, srv = run(runtime, [moved, ok200()], path="dir/fw.bin")
    assert (r["result"], r["sha"], r["attempts"]) == (0, sha(BODY), 2), r["out"]
    assert srv.line(1) == "GET %s HTTP/1.1" % target


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("location,result", [(b"mailto:x@y", 9), (b"ftp://h/x", 9), (b"http://[::1/x", 7)])
def test_bad_redirects(runtime, location, result):
    moved = [b"HTTP/1.1 301 Moved\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n"]
    r, srv = run(runtime, [moved])
    assert (r["result"], len(srv.reqs)) == (result, 1), r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("path,target", [("my fw.bin", "/my%20fw.bin"), ("#frag/x", "/"),
                                         ("a%20b?x=%2F#f", "/a%20b?x=%2F"), ("?q=1", "/?q=1")])
def test_request_target(runtime, path, target):
    r, srv = run(runtime, [ok200()], path=path)
    assert r["result"] == 0 and srv.line(0) == "GET %s HTTP/1.1" % target, r["out"]


# -- 6: Transfer-Encoding ------------------------------------------------------------------------
@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("head", [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip",
                                  b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked",
                                  b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked",
                                  b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 17",
                                  b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked"])
def test_transfer_codings_other_than_chunked_fail(runtime, head):
    r, _ = run(runtime, [[head + b"\r\n\r\nc\r\n\x1f\x8b\x08\x00data\x00\x00\x00\x00\r\n0\r\n\r\n"]])
    assert (r["result"], r["bytes"], r["attempts"], r["reason"]) == (4, 0, 1, "bad Transfer-Encoding"), r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_chunked_any_case(runtime):
    r, _ = run(runtime, [[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked \r\n\r\n5\r\nhello\r\n0\r\n\r\n"]])
    assert (r["result"], r["sha"]) == (0, sha(b"hello")), r["out"]


# -- 8: trailers -------------------------------------------------------------------------------
@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("n", [400, 5000])
def test_long_trailer_after_a_complete_body(runtime, n):
    h = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Sig: "
    r, _ = run(runtime, [[h + b"s" * n, 0.2, b"\r\nX-More: 1\r\n\r\n"]], bufsize=1024)
    assert (r["result"], r["sha"], r["size"]) == (0, sha(b"hello"), 5), r["out"]


# -- 5: line ends (RFC 9112 2.2: a recipient may take a lone LF as a line end) -----------------
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_headers_with_lone_lf_line_ends(runtime):
    head = b"HTTP/1.1 200 OK\nETag: \"e1\"\r\nContent-Length: 100\n\n"
    r, _ = run(runtime, [[head + BODY]])
    assert (r["result"], r["bytes"], r["size"], r["sha"]) == (0, 100, 100, sha(BODY)), r["out"]
    # the body starts right after the empty line: a CR there is image data, not a line end
    r, _ = run(runtime, [[b"HTTP/1.1 200 OK\nContent-Length: 100\n\n\r" + BODY[1:]]])
    assert (r["result"], r["sha"]) == (0, sha(b"\r" + BODY[1:])), r["out"]
    # a field folded onto a line that starts after a lone LF is still malformed
    r, _ = run(runtime, [[b"HTTP/1.1 200 OK\nContent-Length:\n 100\n\n" + BODY]])
    assert (r["result"], r["bytes"]) == (4, 0), r["out"]
