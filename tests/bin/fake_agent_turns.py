"""Turns of tests/bin/fake_agent.py (test-only, never shipped): a submitted message, the scripted
reply streamed line by line (or word by word), the kind's errors and limits, and the questions
the agent waits on mid-turn (permission prompts, usage-limit menus) with the keys that answer
them. A mixin of the Agent class, which owns the terminal, the timers and the drawing."""

import json
import os
import re
import subprocess
import time
import uuid

ERRORS = ("context", "quota", "rate_limit")


class Session:
    """The conversation, kept as Claude Code keeps it: a JSON line per message in
    $HOME/.claude/projects/<cwd with every non-alphanumeric as ->/<session id>.jsonl. Resuming
    a session reads its earlier messages and goes on writing to its file."""

    def __init__(self, resume=None):
        self.id = resume or str(uuid.uuid4())
        project = re.sub(r"[^A-Za-z0-9]", "-", os.getcwd())
        directory = os.path.join(os.environ["HOME"], ".claude", "projects", project)
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, self.id + ".jsonl")
        self.messages = []
        if resume:
            with open(self.path, encoding="utf-8") as log:
                self.messages = [json.loads(line)["message"]["content"] for line in log]

    def add(self, role, text):
        self.messages.append(text)
        message = {"role": role, "content": text}
        if role == "assistant":  # a model request's line, with its usage
            message.update(id=f"msg_{uuid.uuid4().hex}", model="claude-fake",
                           usage={"input_tokens": 10, "output_tokens": 5})
        line = {"sessionId": self.id, "type": role, "message": message}
        with open(self.path, "a", encoding="utf-8") as log:
            log.write(json.dumps(line) + "\n")


class Turns:
    session = None
    history = ""

    def submit(self, message):
        if message.strip() in ("/exit", "/quit"):
            self.finish(0)
        self.turns += 1
        if self.log_path:
            with open(self.log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps({"n": self.turns, "message": message}) + "\n")
        self.history = " | ".join(self.session.messages) if self.session else ""
        if self.session:
            self.session.add("user", message)
        replies = self.script.get("replies", [])
        reply = replies[self.turns - 1] if self.turns <= len(replies) else self.script.get(
            "default", {"text": "You said: {message}"})
        self.pending += self.kind.echo(message)
        self.state, self.busy_since = "working", time.monotonic()
        self.partial_row, self.reply_rows, self.turn_gen = None, 0, self.turn_gen + 1
        self.schedule(reply, message)

    def step(self, action):
        """`action` as a timer of the current turn: dropped once the turn is over or waits."""
        gen = self.turn_gen
        return lambda: action() if gen == self.turn_gen and self.state == "working" else None

    def schedule(self, reply, message):
        self.turn_start = time.monotonic()
        when = self.turn_start + float(reply.get("delay", 0.0))
        if reply.get("approval"):
            self.at(when, self.step(lambda: self.ask_permission(reply, message)))
        elif reply.get("error"):
            self.at(when, self.step(lambda: self.fail(reply, message)))
        else:
            self.stream(reply, reply.get("text", ""), message, when)

    def stream(self, reply, text, message, when):
        """Schedules `text` as the turn's answer from `when` on, then the turn-end line."""
        text = text.replace("{message}", message).replace("{n}", str(self.turns))
        text = text.replace("{history}", self.history)
        if self.session:
            self.session.add("assistant", text)
        line_delay, word_delay = float(reply.get("line_delay", 0)), float(reply.get("word_delay", 0))
        for row in self.kind.reply(text):
            words = row.split(" ")
            for k in range(1, len(words) if word_delay > 0 else 0):
                self.at(when, self.step(lambda p=" ".join(words[:k]): self.show_partial(p)))
                when += word_delay
            self.at(when, self.step(lambda r=row: self.commit(r)))
            when += line_delay
        end = reply.get("turn_end")

        def finish_turn():
            secs = str(int(time.monotonic() - self.turn_start))
            self.end_turn(self.kind.turn_end(secs) if end is None else
                          [end.replace("{secs}", secs), ""] if end else [])
        self.at(when, self.step(finish_turn))

    def fail(self, reply, message):
        error = reply["error"]
        if error == "context":
            self.end_turn(self.kind.context_error())
        elif error == "rate_limit":
            lines = self.kind.rate_limit()
            if lines is not None:  # else the CLI retries silently: the turn stays busy
                self.end_turn(lines)
        else:
            lines, question = self.kind.quota(reply.get("reset"), reply.get("weekly", False))
            if lines is not None:
                self.end_turn(lines)
            if question:
                self.ask([], question, reply, message)

    def ask_permission(self, reply, message):
        approval = reply["approval"]
        lines, question = self.kind.permission(
            approval["command"], approval.get("description", "Run the scripted command"))
        self.ask(lines, question, reply, message)

    def ask(self, lines, question, reply, message):
        self.pending += lines
        self.question, self.asked = question, (reply, message)
        self.state, self.partial_row, self.dirty = "asking", None, True

    def answer(self, choice):
        """Acts on option `choice` of the open question."""
        outcome = self.question.outcomes[choice]
        (reply, message), now = self.asked, time.monotonic()
        self.question, self.asked, self.dirty = None, None, True
        if outcome == "close":  # a menu outside a turn
            self.state = "idle"
            return
        self.state, self.busy_since = "working", now
        if outcome == "approve":
            command = reply["approval"]["command"]
            self.pending += self.kind.tool_done(command, run(command), choice)
            self.stream(reply, reply.get("text", f"Done: ran `{command}`."), message, now + 0.1)
        elif outcome == "decline":
            self.end_turn(self.kind.tool_declined(reply["approval"]["command"], choice))
        elif outcome == "stop":
            self.end_turn(self.kind.quota_stopped())
        elif "text" in reply:  # retry: the request goes through now
            self.stream(reply, reply["text"], message, now + float(reply.get("delay", 0.0)))
        else:  # retry: still over the limit
            self.at(now + float(reply.get("delay", 0.0)), self.step(lambda: self.fail(reply, message)))

    def show_partial(self, prefix):
        self.partial_row, self.dirty = self.kind.partial(prefix), True

    def commit(self, row):
        self.pending.append(row)
        self.partial_row, self.reply_rows, self.dirty = None, self.reply_rows + 1, True

    def end_turn(self, lines):
        self.pending += lines
        self.state, self.partial_row, self.dirty = "idle", None, True

    def interrupt(self):
        self.turn_gen += 1
        self.question, self.asked = None, None
        self.end_turn(self.kind.interrupted())

    def question_key(self, ch):
        q = self.question
        if q.letters:
            if ch in "\r\n":
                typed, q.typed = q.typed.strip(), ""
                if typed in q.options:
                    self.answer(q.options.index(typed))
            elif ch in "\x7f\x08":
                q.typed = q.typed[:-1]
            elif ch >= " ":
                q.typed += ch
        elif ch in "\r\n":
            self.answer(q.selected)
        elif ch.isdigit() and 1 <= int(ch) <= len(q.options):
            self.answer(int(ch) - 1)
        elif ch in q.shortcuts:
            self.answer(q.shortcuts[ch])
        elif ch == "\x1b" and q.cancel is not None:
            self.answer(q.cancel)

    def arrow(self, step):
        q = self.question
        if self.state == "asking" and not q.letters:
            q.selected = min(max(q.selected + step, 0), len(q.options) - 1)
            self.dirty = True


def run(command):
    """Runs a shell command the agent was allowed to run, in its cwd; returns its output."""
    done = subprocess.run(command, shell=True, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60, check=False)
    return (done.stdout + done.stderr).rstrip("\n")


def check_script(script):
    """Refuses replies this fake cannot play (a typo would otherwise look like an agent bug)."""
    for reply in script.get("replies", []) + [script.get("default", {})]:
        if reply.get("error") not in (None,) + ERRORS:
            return f"unknown error {reply['error']!r} (known: {', '.join(ERRORS)})"
        if "approval" in reply and not reply["approval"].get("command"):
            return "an approval needs a command"
    return None
