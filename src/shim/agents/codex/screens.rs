//! Screens captured from Codex CLI 0.169.0 at 220×50 against the fake model server, for the
//! driver's unit tests: through agentshim's own screen (a PTY read into `Screen`, or the shim's
//! capture), inline (`--no-alt-screen`) unless noted, trailing blank rows and the logo art
//! trimmed.

/// The first screen with an input box, while Codex is still `loading` (a trust dialog can
/// still replace it).
pub const LOADING_SCREEN: &str = "
  >_ OpenAI Codex (v0.169.0)
     loading


› Ask Codex to do anything

  ? for shortcuts";

/// The first screen once the session is set up.
pub const FRESH: &str = "
  >_ OpenAI Codex (v0.169.0)
     ~/work

  Tip: Maximize usage with GPT-6.1 Sol. Try it on complex work for near-Astra performance at a lower cost.


› Ask Codex to do anything

  GPT-5.5 default · ~/work
  ← for agents · ? for shortcuts";

/// A finished turn, then a second message that is still streaming its answer.
pub const STREAMING_AFTER_DONE: &str = "
  >_ OpenAI Codex (v0.169.0)
     ~/work

› hello one


• First answer ✓

  Worked for <1s • 05:41


› slow please


• Slow line one.
  Slow line two with more

› Ask Codex to do anything

  GPT-5.5 default · ~/work · Fake session title
  ← for agents · ? for shortcuts";

/// Before the first token.
pub const WORKING: &str = "
› slow please


• Working (3s • esc to interrupt)

› Ask Codex to do anything

  GPT-5.5 default · ~/work · Fake session title
  ← for agents · ? for shortcuts";

/// A turn with tool activity, done.
pub const TOOL_DONE: &str = "
  >_ OpenAI Codex (v0.169.0)
     ~/work

  Tip: Maximize usage with GPT-6.1 Sol. Try it on complex work for near-Astra performance at a lower cost.


› do the thing


• Ran echo fake-tool
  └ fake-tool

• Tool done ✓

  Worked for <1s • 05:51


› Ask Codex to do anything

  GPT-5.5 default · ~/work · Fake session title
  ← for agents · ? for shortcuts";

/// A multi-line message (echoed with continuation lines) answered in three lines.
pub const MULTI_LINE: &str = "
› first line ✓
  second line Grüße
  third 世界


• Slow line one.
  Slow line two with more words to stream.
  Slow line three.

  └ Tip: Use /permissions to control when Codex asks for confirmation.
  Worked for 5s • 05:41


› Ask Codex to do anything

  GPT-5.5 default · ~/work · Fake session title
  ← for agents · ? for shortcuts";

/// Codex's default alternate screen, captured through the shim: three turns, a tip under the
/// last answer.
pub const ALT_SCREEN_DONE: &str = "
  >_ OpenAI Codex (v0.169.0)
     ~/work


› hello one


• First answer ✓

  Worked for <1s • 06:05


› first line ✓
  second line Grüße
  third 世界


• Slow line one.
  Slow line two with more words to stream.
  Slow line three.

  Worked for 5s • 06:05


› run a tool


• Ran echo fake-tool
  └ fake-tool

• Tool done ✓
  └ Tip: You can resume a previous conversation by running codex resume

  Worked for <1s • 06:05








› Ask Codex to do anything

  GPT-5.5 default · ~/work · Fake session title
  ← for agents · ? for shortcuts";

/// Mid-stream, Codex briefly redraws the first answer row away (captured through the shim).
pub const ALT_SCREEN_REFLOW: &str = "
› first line ✓
  second line Grüße
  third 世界


  Slow

› Ask Codex to do anything

  GPT-5.5 default · ~/work · Fake session title
  ← for agents · ? for shortcuts";

pub const INTERRUPTED: &str = "
› do the thing


■ Conversation interrupted - use /feedback if something went wrong


› Ask Codex to do anything

  GPT-5.5 default · ~/work · Fake session title
  ← for agents · ? for shortcuts";

pub const CONTEXT_FULL_SCREEN: &str = "
› warm up


• warm ✓

  Worked for <1s • 05:49


› do the thing


■ Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.


› Ask Codex to do anything

  GPT-5.5 default · ~/work · Fake session title
  ← for agents · ? for shortcuts";

pub const APPROVAL: &str = "
› do the thing


◦ Running touch fake-tool-file.txt


  Would you like to run the following command?

  Environment: local

  Reason: The fake model wants to run this command.

  $ touch fake-tool-file.txt


› 1. Yes, proceed (y)
  2. Yes, and don't ask again for commands that start with `touch fake-tool-file.txt` (p)
  3. No, and tell Codex what to do differently (esc)

  Press enter to confirm or esc to cancel";

pub const TRUST: &str = "
  Folder access
  /tmp/agentshim-live-codex-sUgn42/work

  Trust this folder? Codex can read, edit, and run files here, subject to your permission settings.
  trust decision will be saved.

› 1. Trust and continue
  2. Back to Agent Command Center

  enter continue · esc back";

pub const MIGRATION: &str = "
  Meet GPT-6 Sol

  Our latest Sol is more intelligent and more efficient so your usage limits go further.

› 1. Try new model
  2. Use existing model

  enter/esc confirm · ^c quit";

pub const SIGN_IN: &str = "
  Welcome to Codex, OpenAI's command-line coding agent

  Choose how you want to use Codex.

> 1. Sign in with ChatGPT
     Usage included with Plus, Pro, Business, and Enterprise plans

  2. Sign in with Device Code
     Sign in from another device with a one-time code

  3. Sign in another way
     Use an API key or another provider

  Press enter to continue";
