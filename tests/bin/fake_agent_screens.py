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

Questions (a [`Question`] is drawn in place of the input box; the agent waits on it):

    kind     permission prompt (options; how they are picked)                         after a used-up quota
    claude   `Do you want to proceed?` 1. Yes / 2. Yes, and always allow … / 3. No;     `  ⎿  You've hit your session limit · resets R`, then Claude runs
             digits, ↑/↓ and Enter, Esc = No                                          `/rate-limit-options` by itself: 1. Stop and wait … / 2. Upgrade your plan
    codex    `Would you like to run the following command?` 1. Yes, proceed (y) /     `■ You’ve hit your usage limit. Upgrade to Pro (…) … or try again at R.`
             2. Yes, and don't ask again … (p) / 3. No, … (esc); digits, y, p, ↑/↓, Esc
    gemini   boxed `Allow execution of [Shell]?` 1. Allow once / 2. Allow for this     boxed modal `Usage limit reached for gemini-3.8-flash.` (`Access resets
             session / 3. No, suggest changes (esc); digits, ↑/↓ and Enter, Esc       at R.` when R is given): 1. Keep trying / 2. Stop
    kiro     `Allow this action? Use 't' to trust (always allow) this tool for the    `✗ You've reached the monthly usage limit for your Kiro plan. Your
             session. [y/n/t]:` answered with the letter and Enter                     limit resets at R.` (unverified: no real Kiro CLI here)

Rate limits: Claude `● API Error: Request rejected (429) · This request would exceed the rate
limit for your organization of 50 requests per minute.`, Codex `■ exceeded retry limit, last
status: 429 Too Many Requests`, Kiro `✗ Too many requests: rate limit exceeded. Please wait a
moment and try again.` (unverified); Gemini retries a plain 429 silently, so its turn stays busy.
"""

import os
import time
import unicodedata

DIM, GREEN, GRAY, RESET = "\x1b[2m", "\x1b[32m", "\x1b[90m", "\x1b[0m"
BRAILLE = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def char_width(ch):
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text):
    return sum(char_width(ch) for ch in text)


def wrap(text, width, first, rest):
    """`text` as rows of at most `width` columns: `first` prefixes the first row, `rest` the
    others; breaks at spaces when it can, inside words when it must. Leading spaces stay."""
    body = text.lstrip(" ")
    first += " " * (len(text) - len(body))
    rows, row, used = [], first, text_width(first)
    for word in body.split(" "):
        sep = "" if row in (first, rest) else " "
        need = text_width(sep + word)
        if used + need > width and row not in (first, rest):
            rows.append(row)
            row, used, sep, need = rest, text_width(rest), "", text_width(word)
        for ch in sep + word:
            if used + char_width(ch) > width:
                rows.append(row)
                row, used = rest, text_width(rest)
            row += ch
            used += char_width(ch)
    rows.append(row)
    return rows


def pad(text, width):
    """`text` padded with spaces to `width` columns."""
    return text + " " * max(0, width - text_width(text))


def boxed(rows, width):
    """`rows` in a rounded box `width` columns wide (rows are cut to fit, not wrapped)."""
    inner = width - 4
    out = ["╭" + "─" * (width - 2) + "╮"]
    for row in rows:
        while text_width(row) > inner:
            row = row[:-1]
        out.append("│ " + pad(row, inner) + " │")
    return out + ["╰" + "─" * (width - 2) + "╯"]


class Question:
    """A question the agent waits on: its options in order, what picking each one does
    (`outcomes`: approve, decline, close, retry, stop; the agent acts on them), the highlighted
    option, and `draw(question)`, which gives the rows drawn in place of the input box and the
    cursor in them. Numbered menus take a digit, ↑/↓ and Enter, their `shortcuts` (key ->
    option) and Esc (picks `cancel`, when set); a `letters` question takes one of its options
    typed and Enter."""

    def __init__(self, options, outcomes, draw, cancel=None, shortcuts=None, letters=False):
        self.options, self.outcomes, self.draw = options, outcomes, draw
        self.cancel, self.shortcuts, self.letters = cancel, shortcuts or {}, letters
        self.selected, self.typed = 0, ""

    def menu_rows(self, width, marked, unmarked):
        """The numbered options, the highlighted one led by `marked`; wrapped rows are indented
        under the option's text."""
        rows = []
        for i, option in enumerate(self.options):
            lead = marked if i == self.selected else unmarked
            rows += wrap(f"{i + 1}. {option}", width, lead, " " * (text_width(lead) + 3))
        return rows


def block(text, width, glyph, indent="  "):
    """A reply or echo: `glyph` before its first line, `indent` before the others, blank lines
    kept blank."""
    out = []
    for i, line in enumerate(text.split("\n")):
        prefix = glyph if i == 0 else indent
        out += wrap(line, width, prefix, indent) if line or i == 0 else [""]
    return out


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

    # Each kind also says how it asks for permission and reports limits:
    #   permission(command, description) -> (lines added to the history, Question)
    #   tool_done(command, output, choice) -> lines after an approval (choice: option index)
    #   tool_declined(command, choice) -> lines that end the turn after a refusal
    #   quota(reset, weekly) -> (lines that end the turn or None, Question asked next or None)
    #   rate_limit() -> lines that end the turn, or None: the turn stays busy

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

    def output_rows(self, output, first, rest):
        """A command's output lines, `first` before the first and `rest` before the others."""
        return [(rest if i else first) + line for i, line in enumerate(output.splitlines())]

    def busy_line(self):
        raise NotImplementedError

    def dynamic(self):
        """Rows of the redrawn region and the cursor (row, col) in them."""
        raise NotImplementedError


class Claude(Kind):
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

    def permission(self, command, description):
        tool = [f"● Bash({command})", "  ⎿  Waiting…", ""]
        project = os.path.basename(os.getcwd()) or "/"
        options = ["Yes", f"Yes, and always allow access to {project}/ from this project", "No"]

        def draw(q):
            rows = tool + [self.rule(), " Bash command", "", f"   {command}", f"   {description}",
                           "", " Do you want to proceed?"]
            rows += q.menu_rows(self.cols, " ❯ ", "   ")
            rows += ["", " Esc to cancel · Tab to amend · ctrl+e to explain"]
            return rows, (len(rows) - 1, 0)
        return [], Question(options, ["approve", "approve", "decline"], draw, cancel=2)

    def tool_done(self, command, output, choice):
        result = self.output_rows(output, "  ⎿  ", "     ") or ["  ⎿  Done"]
        return [f"● Bash({command})"] + result + [""]

    def tool_declined(self, command, choice):
        return [f"● Bash({command})", "  ⎿  Interrupted · What should Claude do instead?", ""]

    def quota(self, reset, weekly):
        limit = "weekly limit" if weekly else "session limit"
        notice = f"  ⎿  You've hit your {limit}" + (f" · resets {reset}" if reset else "")
        lines = [notice, "", "✻ Worked for 0s", ""] + self.echo("/rate-limit-options")

        def draw(q):
            rows = [self.rule(), "  What do you want to do?", ""]
            rows += q.menu_rows(self.cols, "  ❯ ", "    ")
            rows += ["", "  Enter to confirm · Esc to cancel"]
            return rows, (len(rows) - 1, 0)
        options = ["Stop and wait for limit to reset", "Upgrade your plan"]
        return lines, Question(options, ["close", "close"], draw, cancel=0)

    def rate_limit(self):
        text = ("API Error: Request rejected (429) · This request would exceed the rate limit "
                "for your organization of 50 requests per minute.")
        return block(text, self.cols, "● ") + [""]

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


class Codex(Kind):
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

    def permission(self, command, description):
        options = [
            "Yes, proceed (y)",
            f"Yes, and don't ask again for commands that start with `{command}` (p)",
            "No, and tell Codex what to do differently (esc)",
        ]

        def draw(q):
            rows = ["", f"• Running {command}", "", "",
                    "  Would you like to run the following command?", "", "  Environment: local",
                    "", f"  Reason: {description}", "", f"  $ {command}", "", ""]
            rows += q.menu_rows(self.cols, "› ", "  ")
            rows += ["", "  Press enter to confirm or esc to cancel"]
            return rows, (len(rows) - 1, 0)
        question = Question(options, ["approve", "approve", "decline"], draw, cancel=2,
                            shortcuts={"y": 0, "p": 1})
        return [], question

    def tool_done(self, command, output, choice):
        scope = "every time this session" if choice == 1 else "this time"
        result = self.output_rows(output, "  └ ", "    ") or ["  └ (no output)"]
        return [f"✔ You approved codex to run {command} {scope}", "", f"• Ran {command}"] + \
            result + [""]

    def tool_declined(self, command, choice):
        return [f"✗ You canceled the request to run {command}", ""] + self.interrupted()

    def quota(self, reset, weekly):
        text = ("You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), "
                "visit https://chatgpt.com/settings/usage to purchase more credits or try again "
                + (f"at {reset}." if reset else "later."))
        return block(text, self.cols, "■ ") + [""], None

    def rate_limit(self):
        return ["■ exceeded retry limit, last status: 429 Too Many Requests", ""]

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


class Gemini(Kind):
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

    def modal(self, rows, options, outcomes, cancel):
        """A boxed dialog with a numbered menu under `rows` (drawn in place of the input box)."""
        def draw(q):
            inner = boxed(rows + [""] + q.menu_rows(self.cols - 4, "● ", "  "), self.cols)
            out = inner + ["", self.status()]
            return out, (len(out) - 1, 0)
        return Question(options, outcomes, draw, cancel=cancel)

    def permission(self, command, description):
        rows = [f"? Shell  {command}"] + boxed([command], self.cols - 4) + \
            ["Allow execution of [Shell]?"]
        options = ["Allow once", "Allow for this session", "No, suggest changes (esc)"]
        return [], self.modal(rows, options, ["approve", "approve", "decline"], 2)

    def tool_done(self, command, output, choice):
        return boxed([f"✓  Shell {command}", ""] + output.splitlines(), self.cols) + [""]

    def tool_declined(self, command, choice):
        return boxed([f"-  Shell {command}", ""], self.cols) + ["", "ℹ Request cancelled.", ""]

    def quota(self, reset, weekly):
        rows = ["Usage limit reached for gemini-3.8-flash."]
        rows += [f"Access resets at {reset}."] if reset else []
        rows += ["/stats model for usage details", "/model to switch models."]
        return None, self.modal(rows, ["Keep trying", "Stop"], ["retry", "stop"], 1)

    def quota_stopped(self):
        """What Gemini prints when the usage-limit modal is answered with Stop."""
        error = ("[API Error: You exceeded your current quota, please check your plan and "
                 "billing details. Quota exceeded for metric: generativelanguage.googleapis.com/"
                 "generate_content_free_tier_requests, limit: 0, model: gemini-3.8-flash]")
        advice = ("Please wait and try again later. To increase your limits, request a quota "
                  "increase through AI Studio, or switch to another /auth method")
        return block(error, self.cols, "✕ ") + [""] + wrap(advice, self.cols, "", "") + [""]

    def rate_limit(self):
        return None

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


class Kiro(Kind):
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

    ALLOW = "Allow this action? Use 't' to trust (always allow) this tool for the session. [y/n/t]:"

    def permission(self, command, description):
        lines = ["Using tool: execute_bash", " ⋮", " ● I will run the following shell command:",
                 f"   {command}", ""]

        def draw(q):
            row = f"{self.ALLOW} {q.typed}"
            return [row], (0, text_width(row))
        question = Question(["y", "n", "t"], ["approve", "decline", "approve"], draw, letters=True)
        return lines, question

    def tool_done(self, command, output, choice):
        answered = [f"{self.ALLOW} {'ynt'[choice]}", ""]
        return answered + self.output_rows(output, "  ", "  ") + [" ● Completed in 0.01s", ""]

    def tool_declined(self, command, choice):
        return [f"{self.ALLOW} n", "", "✗ Tool use was rejected: the command was not run.", ""]

    def quota(self, reset, weekly):
        when = f"Your limit resets at {reset}." if reset else "Upgrade your plan to continue."
        return [f"✗ You've reached the monthly usage limit for your Kiro plan. {when}", ""], None

    def rate_limit(self):
        return ["✗ Too many requests: rate limit exceeded. Please wait a moment and try again.", ""]

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
