# A child process whose output lines are read by a thread, so waiting for a line never
# misses one already sitting in a pipe buffer (select() on a buffered text pipe can).
# SPDX-License-Identifier: MIT
import queue
import subprocess
import threading
import time

from conftest import ROOT


class LineProc:
    def __init__(self, argv, cwd=ROOT, env=None, stdin=False):
        self.p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, text=True, bufsize=1)
        self.q = queue.Queue()
        self.seen = []  # every line, for failure messages
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            self.seen.append(line.rstrip("\n"))
            self.q.put(line.rstrip("\n"))
        self.q.put(None)  # EOF

    def next_line(self, timeout):
        # The next output line, or None at EOF; raises AssertionError after timeout.
        try:
            return self.q.get(timeout=max(timeout, 0))
        except queue.Empty:
            raise AssertionError("no output from %s within %.1fs; last lines: %s"
                                 % (self.p.args, timeout, self.seen[-20:]))

    def expect(self, prefix, timeout=30):
        # Skips lines until one starts with prefix; returns it. Raises on EOF or timeout.
        deadline = time.monotonic() + timeout
        while True:
            line = self.next_line(deadline - time.monotonic())
            if line is None:
                raise AssertionError("%s ended (rc %s) before %r; last lines: %s"
                                     % (self.p.args, self.p.poll(), prefix, self.seen[-20:]))
            if line.startswith(prefix):
                return line

    def stop(self, timeout=5):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        if self.p.stdin:
            self.p.stdin.close()
        self.t.join(5)
        self.p.stdout.close()
        return self.p.returncode
