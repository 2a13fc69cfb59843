#!/usr/bin/env python3
"""A fake agent CLI for agentshim's tests: imitates the screens of Claude Code, Codex, Gemini CLI
and Kiro from a script, so every driver can be tested fast and deterministically.

Test-only and never shipped: it is not a Cargo target, so `cargo build`/`cargo install` never see
it, and it needs nothing but the Python 3 standard library, so plain `cargo test` runs it on any
machine with `python3` (tests start `python3 tests/bin/fake_agent.py`; see
tests/support/fake_agent.rs). Python's termios/select give the same raw-mode TUI behaviour as the
real CLIs with far less machinery than a second Rust binary would need.

    python3 tests/bin/fake_agent.py --kind kiro [--script FILE] [--log FILE]

Like the real TUIs it puts the terminal in raw mode, enables bracketed paste, asks the terminal
for the cursor position at startup (and waits up to 1 s for the answer), redraws a region at the
bottom in place (spinners tick every 100 ms) and appends finished lines above it, so long answers
scroll into the scrollback. Screens per kind: fake_agent_screens.py, their questions and limit
messages: fake_agent_asks.py; turns and answers: fake_agent_turns.py; text layout:
fake_agent_text.py (all next to this file).

Keys: text and bracketed pastes go into the input (ignored unless idle); Enter submits a non-empty
input (`/exit` or `/quit` exits); Esc or Ctrl-C interrupts a turn; Ctrl-C clears the input, and on
an empty input twice within 3 s exits; Ctrl-D on an empty input exits; during startup or a dialog
Ctrl-C exits at once and Enter dismisses the dialog. While a question waits (a permission prompt,
a usage-limit menu; drawn per kind, see fake_agent_asks.py) keys answer it the kind's way: a
digit picks that option, ↑/↓ move the highlight and Enter picks it, Esc picks the "no"/cancel
option, Codex also takes `y` and `p`, and Kiro's `[y/n/t]` takes the letter and Enter; Ctrl-C
interrupts the turn (Claude ignores it there, as the real CLI does in a permission prompt).

Script (JSON; `--script FILE` or env FAKE_AGENT_SCRIPT; every key optional):

    {"kind": "kiro",             # same as --kind
     "startup_delay": 0.5,       # seconds of startup before the prompt takes input (default 0.1)
     "dialog": true,             # or a list of lines: a startup dialog shown until Enter
     "enter_guard": 0.0,         # an Enter this soon after text is a newline (Codex paste burst)
     "query_cursor": true,       # ask the terminal for the cursor position at startup
     "log": "/tmp/messages.jsonl",  # or --log / FAKE_AGENT_LOG: one JSON line per submitted
                                 # message: {"n": 1, "message": "..."}
     "replies": [                # reply N answers message N; after them, "default"
       {"text": "Hello {message}",  # {message} and {n} are substituted
        "delay": 0.2,            # seconds of busy marker before the first output
        "line_delay": 0.05,      # seconds between output lines
        "word_delay": 0.0,       # > 0: lines stream word by word (partial-line redraws)
        "turn_end": null,        # null: the kind's turn-end line; "" none; else text ({secs})
        "error": "context"},     # instead of text: the kind's context-limit error, or
                                 # "quota" (its usage-limit message; "reset": "6:28am (UTC)" is
                                 # the reset time shown, "weekly": true Claude's weekly variant)
                                 # or "rate_limit" (its 429 message)
       {"approval": {"command": "touch made.txt",   # mid-turn the kind's permission prompt for
                     "description": "Create a file"},  # running this shell command; approving
        "text": "Created it.",   # runs it in the agent's cwd, shows its output and then "text";
        "delay": 0.2}],          # refusing ends the turn without running it
     "default": {"text": "You said: {message}"},
     "session_log": true}        # keep the conversation in a session log as Claude Code does
                                 # ($HOME/.claude/projects/<cwd, non-alphanumerics as ->/<id>
                                 # .jsonl, a line per message); `--resume ID` goes on with
                                 # session ID's messages, and {history} in a reply is the
                                 # earlier messages of the conversation, joined by " | "

After a usage limit Claude opens its `/rate-limit-options` menu by itself and Gemini shows its
modal (Keep trying: the turn goes on with "text" when the reply has one, else the modal comes
back after "delay"; Stop: Gemini's quota error ends the turn).
"""

import argparse
import codecs
import fcntl
import heapq
import json
import os
import re
import select
import signal
import struct
import sys
import termios
import time
import tty

from fake_agent_screens import KINDS
from fake_agent_text import text_width, wrap
from fake_agent_turns import Session, Turns, check_script

PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
ARROWS = {"A": -1, "B": 1}  # the last byte of ↑ and ↓ (CSI or SS3)
SGR = re.compile(r"\x1b\[[0-9;]*m")
CPR = re.compile(r"\x1b\[\d+;\d+R")
DIALOGS = {
    "kiro": [" Trust all tools for this session?", "", "❯ Yes, I accept", "  No, exit"],
    "default": [" Do you trust the files in this folder?", "", "❯ 1. Yes, proceed", "  2. No, exit"],
}


class Agent(Turns):
    """The fake CLI: terminal input, timers and drawing; its turns and questions are in Turns."""

    def __init__(self, kind, script, log_path):
        self.kind_name, self.script, self.log_path = kind, script, log_path
        self.kind = KINDS[kind](self)
        self.rows, self.cols = terminal_size()
        self.state, self.input, self.exit_armed = "starting", "", None
        self.dialog = []
        self.question, self.asked = None, None  # the open Question; (reply, message) it is about
        self.busy_since = self.turn_start = time.monotonic()
        self.partial_row, self.reply_rows, self.turn_gen, self.turns = None, 0, 0, 0
        self.pending, self.dirty = [], True
        self.timers, self.timer_seq = [], 0
        self.region_row = 0  # ink: cursor row inside the redrawn region
        self.hist_next = 0  # viewport: next free history row
        self.carry, self.pasting, self.paste_buf, self.last_text_at = "", False, "", 0.0
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.feeds = 0  # input chunks read so far (tells a lone ESC from a split sequence)
        self.last_draw = 0.0

    # ---- timers -------------------------------------------------------------------------------
    def at(self, due, action):
        self.timer_seq += 1
        heapq.heappush(self.timers, (due, self.timer_seq, action))

    def run_due(self):
        while self.timers and self.timers[0][0] <= time.monotonic():
            heapq.heappop(self.timers)[2]()

    def animating(self):
        return self.state == "working"

    def timeout(self):
        due = [self.timers[0][0]] if self.timers else []
        if self.animating():
            due.append(self.last_draw + 0.1)
        return max(0.0, min(due) - time.monotonic()) if due else None

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self):
        write("\x1b[?2004h")
        if self.script.get("query_cursor", True):
            self.feed(query_cursor())
        self.pending += self.kind.header()
        self.at(time.monotonic() + float(self.script.get("startup_delay", 0.1)), self.started)

    def started(self):
        dialog = self.script.get("dialog")
        if dialog:
            self.dialog = dialog if isinstance(dialog, list) else DIALOGS.get(
                self.kind_name, DIALOGS["default"])
            self.state = "dialog"
        else:
            self.state = "idle"
        self.dirty = True

    def finish(self, code):
        self.state = "exiting"
        self.render()
        write("\x1b[?2004l\r\n")
        raise SystemExit(code)

    # ---- input --------------------------------------------------------------------------------
    def feed(self, data):
        text = self.carry + self.decoder.decode(data)
        self.carry, self.feeds = "", self.feeds + 1
        i = 0
        while i < len(text):
            if self.pasting:
                end = text.find(PASTE_END, i)
                if end < 0:
                    keep = next((k for k in range(len(PASTE_END) - 1, 0, -1)
                                 if text.endswith(PASTE_END[:k])), 0)
                    self.paste_buf += text[i:len(text) - keep]
                    self.carry = text[len(text) - keep:]
                    return
                self.paste_buf += text[i:end]
                self.pasting, i = False, end + len(PASTE_END)
                self.insert(self.paste_buf.replace("\r\n", "\n").replace("\r", "\n"))
                self.paste_buf = ""
                continue
            if text[i] == "\x1b":
                used = self.escape(text[i:])
                if used is None:
                    self.carry = text[i:]
                    return
                i += used
                continue
            self.key(text[i])
            i += 1

    def escape(self, text):
        """Handles the escape sequence at the start of `text`; returns its length, or None when it
        is incomplete (a lone ESC becomes the Esc key if nothing follows within 50 ms)."""
        if len(text) == 1:
            feeds = self.feeds
            self.at(time.monotonic() + 0.05, lambda: self.lone_escape(feeds))
            return None
        if text[1] == "[":
            match = re.match(r"\[[0-?]*[ -/]*[@-~]", text[1:])
            if not match:
                return None if re.fullmatch(r"\[[0-?]*[ -/]*", text[1:]) else 2
            if match.group(0) == "[200~":
                self.pasting = True
            elif match.group(0)[-1] in ARROWS:
                self.arrow(ARROWS[match.group(0)[-1]])
            return 1 + len(match.group(0))
        if text[1] == "O":
            if len(text) < 3:
                return None
            if text[2] in ARROWS:
                self.arrow(ARROWS[text[2]])
            return 3
        if text[1] == "]":
            bel, st = text.find("\x07"), text.find("\x1b\\", 2)
            ends = [(j, n) for j, n in ((bel, 1), (st, 2)) if j > 0]
            return sum(min(ends)) if ends else None
        self.key("\x1b")
        return 1

    def lone_escape(self, feeds):
        if self.carry == "\x1b" and feeds == self.feeds:
            self.carry = ""
            self.key("\x1b")

    def key(self, ch):
        now = time.monotonic()
        self.dirty = True
        if self.state == "asking" and ch not in "\x03\x04":
            self.question_key(ch)
        elif ch in "\r\n":
            self.enter(now)
        elif ch in "\x7f\x08":
            self.input = self.input[:-1]
        elif ch == "\x03":
            self.ctrl_c(now)
        elif ch == "\x04":
            if self.state in ("idle", "starting", "dialog") and not self.input:
                self.finish(0)
        elif ch == "\x1b":
            if self.state == "working":
                self.interrupt()
            self.exit_armed = None
        elif ch == "\t" or ch >= " ":
            self.insert(ch)

    def insert(self, text):
        if self.state == "idle":
            self.input += text
            self.last_text_at, self.exit_armed, self.dirty = time.monotonic(), None, True

    def enter(self, now):
        if self.state == "dialog":
            self.state = "idle"
        elif self.state == "idle":
            guard = float(self.script.get("enter_guard", 0.0))
            if self.input and now - self.last_text_at < guard:
                self.input += "\n"
            elif self.input.strip():
                message, self.input = self.input, ""
                self.submit(message)

    def ctrl_c(self, now):
        if self.state == "asking":
            if self.kind_name != "claude":
                self.interrupt()
        elif self.state == "working":
            self.interrupt()
        elif self.state in ("starting", "dialog"):
            self.finish(0)
        elif self.input:
            self.input = ""
        elif self.exit_armed and now < self.exit_armed:
            self.finish(0)
        else:
            self.exit_armed = now + 3.0
            self.at(self.exit_armed, self.disarm)

    def disarm(self):
        if self.exit_armed and time.monotonic() >= self.exit_armed:
            self.exit_armed, self.dirty = None, True

    # ---- drawing ------------------------------------------------------------------------------
    def render(self):
        lines = []
        for line in self.pending:
            plain = SGR.sub("", line)
            lines += wrap(plain, self.cols, "", "") if text_width(plain) > self.cols else [line]
        self.pending = []
        if self.kind.layout == "ink":
            self.render_ink(lines)
        else:
            self.render_viewport(lines)
        self.dirty, self.last_draw = False, time.monotonic()

    def render_ink(self, lines):
        out = [f"\x1b[{self.region_row}A" if self.region_row else "", "\r\x1b[J"]
        out += [line + "\r\n" for line in lines]
        rows, (row, col) = self.kind.dynamic() if self.state != "exiting" else ([""], (0, 0))
        out.append("\r\n".join(rows))
        up = len(rows) - 1 - row
        out.append((f"\x1b[{up}A" if up else "") + "\r" + (f"\x1b[{col}C" if col else ""))
        self.region_row = row
        write("".join(out))

    def render_viewport(self, lines):
        rows, (row, col) = self.kind.dynamic() if self.state != "exiting" else ([""], (0, 0))
        top = max(1, self.rows - len(rows))  # first viewport row, 0-based
        out = []
        if self.hist_next > top:  # the viewport grew: scroll everything up
            out.append(f"\x1b[{self.rows};1H" + "\n" * (self.hist_next - top))
            self.hist_next = top
        for line in lines:
            if self.hist_next < top:
                out.append(f"\x1b[{self.hist_next + 1};1H\x1b[2K{line}")
                self.hist_next += 1
            else:  # scroll the history above the viewport; its top row goes to the scrollback
                out.append(f"\x1b[1;{top}r\x1b[{top};1H\n\x1b[2K\r{line}\x1b[r")
        # Below the history everything is viewport (which may have shrunk) or blank.
        out.append(f"\x1b[{self.hist_next + 1};1H\x1b[J\x1b[{top + 1};1H" + "\r\n".join(rows))
        out.append(f"\x1b[{top + row + 1};{col + 1}H")
        write("".join(out))

    def resized(self):
        self.rows, self.cols = terminal_size()
        self.dirty = True


def write(text):
    data = text.encode("utf-8")
    while data:
        data = data[os.write(1, data):]


def terminal_size():
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(1, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        rows, cols = 0, 0
    return rows or 24, cols or 80


def query_cursor():
    """Asks for the cursor position (as Codex does) and waits up to 1 s for the answer; returns
    whatever else arrived meanwhile."""
    write("\x1b[6n")
    data, deadline = b"", time.monotonic() + 1.0
    while time.monotonic() < deadline:
        ready, _, _ = select.select([0], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(0, 4096)
        if not chunk:
            break
        data += chunk
        if CPR.search(data.decode("utf-8", "replace")):
            break
    return CPR.sub("", data.decode("utf-8", "replace"), count=1).encode("utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=sorted(KINDS))
    parser.add_argument("--script", default=os.environ.get("FAKE_AGENT_SCRIPT"))
    parser.add_argument("--log", default=os.environ.get("FAKE_AGENT_LOG"))
    parser.add_argument("--resume", metavar="ID", help="go on with this session's conversation")
    args = parser.parse_args()
    script = {}
    if args.script:
        with open(args.script, encoding="utf-8") as f:
            script = json.load(f)
    kind = args.kind or script.get("kind")
    if kind not in KINDS:
        parser.error(f"--kind must be one of {sorted(KINDS)}")
    problem = check_script(script)
    if problem:
        parser.error(f"bad script: {problem}")
    if not os.isatty(0):
        parser.error("stdin must be a terminal")
    saved = termios.tcgetattr(0)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGWINCH, lambda *_: None)
    agent = Agent(kind, script, args.log or script.get("log"))
    if script.get("session_log"):
        agent.session = Session(args.resume)
    elif args.resume:
        parser.error("--resume needs a script with a session log")
    try:
        tty.setraw(0)
        agent.start()
        while True:
            if agent.dirty:
                agent.render()
            ready, _, _ = select.select([0, wake_r], [], [], agent.timeout())
            if wake_r in ready:
                os.read(wake_r, 512)
                agent.resized()
            if 0 in ready:
                try:
                    data = os.read(0, 65536)
                except OSError:
                    data = b""
                if not data:
                    return 0
                agent.feed(data)
            agent.run_due()
            if agent.animating() and time.monotonic() >= agent.last_draw + 0.1:
                agent.dirty = True
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)


if __name__ == "__main__":
    sys.exit(main())
