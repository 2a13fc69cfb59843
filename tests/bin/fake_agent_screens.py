"""Screen conventions of each agent kind for tests/bin/fake_agent.py (test-only, never shipped).

One class per kind says what the fake agent draws: the static lines it adds to the history
(header, the echo of a message, reply lines with the kind's reply glyph, turn-end, context-error
and interrupt lines) and the dynamic region at the bottom that it redraws in place (spinner or
status line, input box, footer), with the cursor position inside that region.

    kind     layout    input line                    reply  turn end                  busy marker
    claude   ink       `❯ ` between two `─` rules    `● `   `✻ Worked for Ns`         `✢ Pondering… (Ns · esc to interrupt)`
    codex    viewport  `› ` + placeholder            `• `   `Worked for Ns • HH:MM`   `• Working (Ns • esc to interrupt)` until text streams
    gemini   ink       ` > ` in a ▄▄▄/▀▀▀ box        `✦ `   (none)                    ` ⠋ Thinking... (esc to cancel, Ns)`
    kiro     ink       `kiro> ` + placeholder        `> `   `▸ Credits: 0.01 • Time: Ns`  `⠋ Thinking... (esc to interrupt)`

Claude, Codex and Gemini follow shared/agents/REAL_AGENTS.md and screens seen on the real CLIs
(where the cursor sits, where the echo lands). Kiro is modelled on its public descriptions (no real
Kiro CLI here): `● Initializing...` while starting, with the input placeholder "ask a question,
or describe a task" already drawn (so a driver must not take the placeholder alone as ready);
busy words Thinking/Planning/Applying with `esc to interrupt`; the prompt line `kiro> ` is the
top of the redrawn region, so a message's echo stays on the row where it was typed.

Continuation lines of replies are indented two columns, those of echoes to the width of the
prompt; everything is wrapped to the terminal width here, as the real TUIs wrap text themselves.

Questions and limits (permission prompts, usage-limit menus, rate-limit lines) are drawn by the
mixins of fake_agent_asks.py.
"""

import time

from fake_agent_asks import ClaudeAsks, CodexAsks, GeminiAsks, KiroAsks
from fake_agent_text import block, text_width

DIM, GREEN, GRAY, RESET = "\x1b[2m", "\x1b[32m", "\x1b[90m", "\x1b[0m"
BRAILLE = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class Kind:
    layout = "ink"
    glyph = "● "
    echo_glyph = "> "
    placeholder = ""
    spinner = BRAILLE

    def __init__(self, agent):
        self.agent = agent

    @property
    def cols(self):
        return self.agent.cols

    def rule(self, ch="─"):
        return GRAY + ch * self.cols + RESET

    def frame(self):
        elapsed = time.monotonic() - self.agent.busy_since
        return self.spinner[int(elapsed * 10) % len(self.spinner)], int(elapsed)

    def header(self):
        return ["", f" Fake {type(self).__name__} · agentshim test double", ""]

    def echo(self, message):
        """The message as it stays in the history: the input box, frozen."""
        indent = " " * text_width(self.echo_glyph)
        return block(message, self.cols, self.echo_glyph, indent) + [""]

    def reply(self, text):
        return block(text, self.cols, self.glyph) + [""]

    def turn_end(self, secs):
        return []

    def context_error(self):
        return ["Context limit reached", ""]

    def interrupted(self):
        return ["Interrupted by user", ""]

    def partial(self, prefix):
        """The unfinished row while text streams (its words so far), or None: not shown."""
        return prefix

    def input_rows(self, prompt, hint):
        """The input box rows and the cursor (row, col) within them."""
        text = self.agent.input
        if not text:
            return [prompt + (DIM + hint + RESET if hint else "")], (0, text_width(prompt))
        rows = block(text, self.cols - 1, prompt, " " * len(prompt))
        return rows, (len(rows) - 1, text_width(rows[-1]))

    def dialog_rows(self):
        rows = list(self.agent.dialog)
        return rows, (len(rows) - 1, 0)

    def busy_line(self):
        raise NotImplementedError

    def dynamic(self):
        """Rows of the redrawn region and the cursor (row, col) in them."""
        raise NotImplementedError


class Claude(ClaudeAsks, Kind):
    glyph, echo_glyph = "● ", "❯ "

    def turn_end(self, secs):
        return [f"✻ Worked for {secs}s", ""]

    def context_error(self):
        return ["  ⎿  Context limit reached · /compact or /clear to continue", ""]

    def partial(self, prefix):
        # Claude shows only completed lines; an unfinished first line is a bare glyph.
        return "●" if self.agent.reply_rows == 0 else None

    def busy_line(self):
        _, secs = self.frame()
        glyph = "·✢✳✶✻✽"[int(time.monotonic() * 5) % 6]
        return f"{glyph} Pondering… ({secs}s · esc to interrupt)"

    def dynamic(self):
        a = self.agent
        if a.state == "starting":
            return [""], (0, 0)
        if a.state == "dialog":
            return self.dialog_rows()
        if a.state == "asking":
            return a.question.draw(a.question)
        top = []
        if a.state == "working":
            top = [r for r in [a.partial_row, self.busy_line()] if r is not None] + [""]
        box, (row, col) = self.input_rows("❯ ", "")
        footer = "  ? for shortcuts · ← for agents"
        if a.state == "working":
            footer = "  esc to interrupt · ← for agents"
        elif a.input:
            footer = ""
        elif a.exit_armed:
            footer = "  Press Ctrl-C again to exit"
        rows = top + [self.rule()] + box + [self.rule(), footer]
        return rows, (len(top) + 1 + row, col)


class Codex(CodexAsks, Kind):
    layout = "viewport"
    glyph, echo_glyph = "• ", "› "
    placeholder = "Ask Codex to do anything"

    def header(self):
        return ["", "  >_ Fake Codex (agentshim test double)", "     ~/work", ""]

    def turn_end(self, secs):
        return [f"  Worked for {secs}s • {time.strftime('%H:%M')}", ""]

    def context_error(self):
        return [
            "■ Codex ran out of room in the model's context window. Start a new thread or "
            "clear earlier history before retrying.",
            "",
        ]

    def interrupted(self):
        return ["■ Conversation interrupted - tell the model what to do differently.", ""]

    def partial(self, prefix):
        return None  # text reaches the history line by line

    def busy_line(self):
        _, secs = self.frame()
        bullet = "•◦"[int(time.monotonic() * 2) % 2]
        return f"{bullet} Working ({secs}s • esc to interrupt)"

    def dynamic(self):
        a = self.agent
        if a.state == "starting":
            return [""], (0, 0)
        if a.state == "dialog":
            return self.dialog_rows()
        if a.state == "asking":
            return a.question.draw(a.question)
        top = [""]
        if a.state == "working" and a.reply_rows == 0:
            top = [self.busy_line(), ""]
        box, (row, col) = self.input_rows("› ", self.placeholder)
        hint = "  Press Ctrl-C again to quit" if a.exit_armed else "  ← for agents · ? for shortcuts"
        rows = top + box + ["", "  gpt-5.5 default · ~/work", hint]
        return rows, (len(top) + row, col)


class Gemini(GeminiAsks, Kind):
    glyph, echo_glyph = "✦ ", " > "
    placeholder = "  Type your message or @path/to/file"

    def echo(self, message):
        return [self.rule("▄")] + block(message, self.cols, " > ", "   ") + [self.rule("▀"), ""]

    def context_error(self):
        return [
            '✕ [API Error: {"error":{"code":400,"status":"INVALID_ARGUMENT","message":"The '
            "input token count (1234567) exceeds the maximum number of tokens allowed "
            '(1048576)."}}]',
            "",
            "ℹ This request failed. Press F12 for diagnostics.",
            "",
        ]

    def interrupted(self):
        return ["ℹ Request cancelled.", ""]

    def busy_line(self):
        glyph, secs = self.frame()
        return f" {glyph} Thinking... (esc to cancel, {secs}s)"

    def status(self):
        return " Press Ctrl+C again to exit." if self.agent.exit_armed else \
            " ~/work    no sandbox    Auto"

    def dynamic(self):
        a = self.agent
        if a.state == "starting":
            return [""], (0, 0)
        if a.state == "dialog":
            return self.dialog_rows()
        if a.state == "asking":
            return a.question.draw(a.question)
        top = []
        if a.state == "working":
            top = [r for r in [a.partial_row, self.busy_line()] if r is not None]
        status = self.status()
        box, (row, col) = self.input_rows(" > ", self.placeholder)
        rows = top + ["", self.rule(), " Shift+Tab to accept edits", self.rule("▄")]
        cursor = (len(rows) + row, col)
        return rows + box + [self.rule("▀"), status], cursor


class Kiro(KiroAsks, Kind):
    glyph, echo_glyph = "> ", "kiro> "
    placeholder = "ask a question, or describe a task"
    busy_words = ("Thinking", "Planning", "Applying")

    def header(self):
        return ["", " ⢀⣴ KIRO ⣦⡀  fake Kiro CLI (agentshim test double)", ""]

    def reply(self, text):
        rows = block(text, self.cols, self.glyph)
        rows[0] = GREEN + rows[0][:1] + RESET + rows[0][1:]
        return rows + [""]

    def turn_end(self, secs):
        return [f"▸ Credits: 0.01 • Time: {secs}s", ""]

    def context_error(self):
        return ["✗ Context window overflow: use /compact or /clear to continue.", ""]

    def interrupted(self):
        return ["✗ Interrupted.", ""]

    def busy_line(self):
        glyph, secs = self.frame()
        word = self.busy_words[min(secs, len(self.busy_words) - 1)]
        return f"{glyph} {word}... (esc to interrupt)"

    def dynamic(self):
        a = self.agent
        status = " Press Ctrl+C again to exit" if a.exit_armed else " auto · ◔ 3%"
        tail = [self.rule(), status]
        if a.state == "dialog":
            rows, cursor = self.dialog_rows()
            return rows + tail, cursor
        if a.state == "asking":
            rows, cursor = a.question.draw(a.question)
            return rows + tail, cursor
        if a.state == "working":
            top = [r for r in [a.partial_row, self.busy_line()] if r is not None]
            return top + tail, (len(top) - 1, text_width(top[-1]))
        box, (row, col) = self.input_rows("kiro> ", self.placeholder)
        if a.state == "starting":
            # The placeholder is drawn before the CLI takes input.
            return ["● Initializing..."] + box + tail, (1 + row, col)
        return box + tail, (row, col)


KINDS = {"claude": Claude, "codex": Codex, "gemini": Gemini, "kiro": Kiro}
