# URI splitting, both runtimes.
from coap.uri import split, UriError
from support import raises


def test_split_forms():
    assert split("coap://127.0.0.1:5683/fw/v2.bin") == ("coap", "127.0.0.1", 5683, ("fw", "v2.bin"), [])
    assert split("coaps://h/x") == ("coaps", "h", 5684, ("x",), [])
    assert split("http://h:8080/a%20b?x=1&y") == ("http", "h", 8080, ("a b",), ["x=1", "y"])
    assert split("HTTPS://h") == ("https", "h", 443, (), [])
    assert split("coap+tcp://[::1]:99/p#frag") == ("coap+tcp", "::1", 99, ("p",), [])


def test_split_refuses():
    for bad in ("", "fw.bin", "://h", "coap://", "coap://h:x", "coap://h:0", "coap://h:70000",
                "coap://u@h/", "ftp://h/x", "coap://h/%4", "coap://h/%zz", "c oap://h", "coap://[::1/x"):
        raises(UriError, split, bad)
