# port/: clock arithmetic, randomness and the host board, on both runtimes.
import os

import port
from port import board
from support import tmpdir, setenv


def test_ticks_diff_wraps():
    a = port.ticks_ms()
    b = port.ticks_add(a, 1000)
    assert port.ticks_diff(b, a) == 1000 and port.ticks_diff(a, b) == -1000
    # across the wrap point: adding then diffing stays exact
    near = port.ticks_add(0, -5)
    assert port.ticks_diff(port.ticks_add(near, 10), near) == 10


def test_random_and_jitter():
    assert len(port.random_bytes(8)) == 8
    xs = [port.jitter(16) for _ in range(50)]
    assert all(0 <= x < 65536 for x in xs) and len(set(xs)) > 40
    assert 0 <= port.random_int(40) < (1 << 40)


def test_host_board_state_dir_and_stable_id():
    d = tmpdir("board")
    setenv("UPDRAFT_STATE", d)
    assert board.name == "host" and board.state_dir() == d
    a = board.unique_id()
    assert a == board.unique_id() and len(a) == 6
    assert os.stat(d + "/board_id")[6] == 6
    setenv("UPDRAFT_STATE", tmpdir("board2"))
    assert board.unique_id() != a, "another board, another id"


def test_reset_exits_with_the_reset_code():
    try:
        board.reset()
    except SystemExit as e:
        assert e.args[0] == board.RESET_EXIT
    else:
        raise AssertionError("reset() returned")
