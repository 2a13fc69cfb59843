# agentshim's shell integration for bash: OSC 133 semantic prompt marks, so the shim knows at
# once when a command line was read (C), when it finished and with which exit code (D), and
# when the prompt is back (A, B). Evaluated by bash's first PROMPT_COMMAND, after the user's
# rc files ran, so it wraps whatever prompt they set up and keeps their PROMPT_COMMAND.
__agentshim_save() { __agentshim_status=$?; return $__agentshim_status; }
__agentshim_prompt() {
  printf '\033]133;D;%s\007' "$__agentshim_status"
  case $PS1 in
    *'133;A'*) ;;
    *) PS1='\[\e]133;A\a\]'"$PS1"'\[\e]133;B\a\]' ;;
  esac
  return $__agentshim_status
}
case $PS0 in
  *'133;C'*) ;;
  *) PS0="$PS0"'\e]133;C\a' ;;
esac
if [[ "$(declare -p PROMPT_COMMAND 2>/dev/null)" == "declare -a"* ]]; then
  PROMPT_COMMAND=(__agentshim_save "${PROMPT_COMMAND[@]:1}" __agentshim_prompt)
else
  # What the rc files added around our eval stays, the eval itself becomes a no-op.
  PROMPT_COMMAND="__agentshim_save; ${PROMPT_COMMAND//'eval "$AGENTSHIM_BASH_INIT"'/:}; __agentshim_prompt"
fi
# Nothing of this reaches the commands the shell runs.
export -n PROMPT_COMMAND
unset AGENTSHIM_BASH_INIT
__agentshim_status=0
__agentshim_prompt
