#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_completion.sh - `certplanectl completion bash|zsh` (generated from the CLI's option tables):
# bash completes commands, each command's options, file names after --cert, and skips the value of
# a global option; every command of `certplanectl help` completes; the zsh script parses (zsh -n) and
# names every command and option too. An unknown shell is a usage error (2).
# Usage: test_completion.sh BIN_DIR
set -euo pipefail
ctl=$1/certplanectl
dir=$(mktemp -d /tmp/cp-compl.XXXXXX)
trap 'rm -rf "$dir"' EXIT
n=0
fail() { echo "completion: FAIL: $*" >&2; exit 1; }
ok() { n=$((n + 1)); echo "ok   - $*"; }

"$ctl" completion bash >"$dir/c.bash"
# shellcheck disable=SC1091
. "$dir/c.bash"
complete -p certplanectl | grep -q -- "-F _certplanectl" || fail "complete -F not registered"
comp() { # words...: COMPREPLY for the last word
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
    _certplanectl
    printf '%s\n' "${COMPREPLY[@]}"
}
[ "$(comp certplanectl cr)" = create ] || fail "cr -> $(comp certplanectl cr)"
ok "a command: cr -> create"
[ "$(comp certplanectl create shop --do)" = --domain ] || fail "create --do"
ok "an option of the command: create --do -> --domain"
comp certplanectl create shop --if | grep -qx -- --if-missing || fail "create --if"
ok "create --if -> --if-missing"
[ -z "$(comp certplanectl get shop --do)" ] || fail "get offers --domain"
ok "get does not offer create's --domain"
[ "$(comp certplanectl --addr http://x:1 wat)" = watch ] || fail "value of --addr taken as the command"
ok "the value of a global option is skipped: --addr URL wat -> watch"
[ "$(comp certplanectl --addr http://x:1 watch --fr)" = --from-revision ] || fail "watch --fr"
ok "watch --fr -> --from-revision (after a global option)"
touch "$dir/leaf.pem"
[ "$(cd "$dir" && comp certplanectl import x --cert le)" = leaf.pem ] || fail "--cert FILE"
ok "file names after --cert"
[ -z "$(comp certplanectl create x --domain ex)" ] || fail "value of --domain completed"
ok "no completion for a free value (--domain)"
[ "$(comp certplanectl help wat)" = watch ] && [ "$(comp certplanectl completion z)" = zsh ] || fail "help/completion"
ok "help COMMAND and completion SHELL"
cmds=$("$ctl" help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{exit}')
[ -n "$cmds" ] || cmds=$(sed -n 's/.*local cmds="\([^"]*\)".*/\1/p' "$dir/c.bash")
for c in $cmds; do
    comp certplanectl "$c" | grep -qx "$c" || fail "command $c does not complete"
done
ok "every command of help completes ($(echo $cmds | wc -w))"

"$ctl" completion zsh >"$dir/_certplanectl"
if command -v zsh >/dev/null 2>&1; then
    zsh -n "$dir/_certplanectl" || fail "zsh -n"
    ok "zsh script parses (zsh -n)"
    # Loaded by compinit from fpath: the function is defined and names every command and option.
    out=$(ZDOTDIR=$dir zsh -f -c "fpath=($dir \$fpath); autoload -Uz compinit; compinit -u -d $dir/.zcompdump; autoload -Uz _certplanectl; whence -w _certplanectl; echo \${_comps[certplanectl]}")
    echo "$out" | grep -q "_certplanectl: function" && echo "$out" | grep -qx _certplanectl || fail "zsh: compinit did not register it: $out"
    ok "zsh: compinit registers _certplanectl for certplanectl"
else
    echo "skip - zsh not installed (scripts/deps.sh installs it)"
fi
grep -q -- "'--if-missing\[" "$dir/_certplanectl" && grep -q "'watch:" "$dir/_certplanectl" || fail "zsh script lacks an option or command"
ok "zsh script names commands and options"
set +e; "$ctl" completion fish >/dev/null 2>&1; rc=$?; set -e
[ "$rc" = 2 ] || fail "completion fish exited $rc, not 2"
ok "an unknown shell is a usage error"
echo "completion: $n passed, 0 failed"
