"""How each kind of tests/bin/fake_agent.py asks questions and reports limits (test-only, never
shipped): a mixin per kind, used by the kind's screen class in fake_agent_screens.py.

A kind's mixin says:
    permission(command, description) -> (lines added to the history, Question)
    tool_done(command, output, choice) -> lines after an approval (choice: the option's index)
    tool_declined(command, choice) -> lines that end the turn after a refusal
    quota(reset, weekly) -> (lines that end the turn or None, Question asked next or None)
    rate_limit() -> lines that end the turn, or None: the turn stays busy

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

from fake_agent_text import block, boxed, text_width, wrap


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


def output_rows(output, first, rest):
    """A command's output lines, `first` before the first and `rest` before the others."""
    return [(rest if i else first) + line for i, line in enumerate(output.splitlines())]


class ClaudeAsks:
    """Claude's permission prompt and limit screens."""

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
        result = output_rows(output, "  ⎿  ", "     ") or ["  ⎿  Done"]
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


class CodexAsks:
    """Codex's permission prompt and limit screens."""

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
        result = output_rows(output, "  └ ", "    ") or ["  └ (no output)"]
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


class GeminiAsks:
    """Gemini's permission prompt and limit screens."""

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


class KiroAsks:
    """Kiro's permission prompt and limit screens."""

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
        return answered + output_rows(output, "  ", "  ") + [" ● Completed in 0.01s", ""]

    def tool_declined(self, command, choice):
        return [f"{self.ALLOW} n", "", "✗ Tool use was rejected: the command was not run.", ""]

    def quota(self, reset, weekly):
        when = f"Your limit resets at {reset}." if reset else "Upgrade your plan to continue."
        return [f"✗ You've reached the monthly usage limit for your Kiro plan. {when}", ""], None

    def rate_limit(self):
        return ["✗ Too many requests: rate limit exceeded. Please wait a moment and try again.", ""]
