# URI splitting, both runtimes.
from coap.uri import split, UriError
from support import raises


def test_split_forms():
    assert split("coap://127.0.0.1:5683/fw/v2.bin") == ("coap", "127.0.0.1", 5683, ("fw", "v2.bin"), [])
    assert split("coaps://h/x") == ("coaps", "h", 5684, ("x",), [])
    assert split("http://h:8080/a%20b?x=1&y") == ("http", "h", 8080, ("a b",), ["x=1", "y"])
    assert split("HTTPS://h") == ("https", "h", 443, (), [])
    assert split("coap+tcp://[::1]:99/p") == ("coap+tcp", "::1", 99, ("p",), [])
    assert split("http://h/p#frag") == ("http", "h", 80, ("p",), [])  # http drops a fragment


def test_split_refuses():
    for bad in ("", "fw.bin", "://h", "coap://", "coap://h:x", "coap://h:0", "coap://h:70000",
                "coap://u@h/", "ftp://h/x", "coap://h/%4", "coap://h/%zz", "c oap://h", "coap://[::1/x",
                "coap+tcp://[::1]:99/p#frag"):
        raises(UriError, split, bad)


def test_split_is_rfc7252_uri_to_options():
    # RFC 7252 6.4: step 4 a fragment fails, step 5 host in lowercase, steps 8-9 one option
    # per segment and per argument, empty ones included
    assert split("coap://h/a//b/?x=%41&&y") == ("coap", "h", 5683, ("a", "", "b", ""), ["x=A", "", "y"])
    assert split("coap://h/fw/")[3] == ("fw", "")
    assert split("coap://h")[3] == () and split("coap://h/")[3] == () and split("coap://h//")[3] == ("", "")
    assert split("coap://h/?")[4] == [""] and split("coap://h/")[4] == []
    assert split("coap://Fw.Example.ORG:7/x")[1:3] == ("fw.example.org", 7)
    assert split("coaps://[FE80::1]/x")[1] == "FE80::1"  # an IP literal gives no Uri-Host
    for bad in ("coap://h/fw#", "coap://h/fw#x", "coaps://h#x", "coap+tcp://h/?q#x", "coap://h/%+1",
                "coap://h/%G0", "coap://h/%4", "coap://h/a%4", "coap://h/% 1", "coap://h/%-1",
                "coap://h/?q=%1+", "coap://h/%\u0661"):
        raises(UriError, split, bad)
    assert split("coap://h/%4a%4A%2f")[3] == ("JJ/",)
