#!/bin/sh
# A real askpass program for the policy tests (tests/tests/e2e/policy.rs):
# the interface `ssh-add -c` uses and the agent's confirmations use too
# (the question as the only argument, SSH_ASKPASS_PROMPT=confirm, exit 0 for
# yes). Only the person is scripted:
#   DBCREDS_TEST_ASKPASS_ANSWER  a file holding `yes`, `no` or `hang`, read at
#                                each question (so a test changes its mind
#                                without restarting the agent)
#   DBCREDS_TEST_ASKPASS_LOG     a file each question is appended to: the
#                                prompt, the SSH_ASKPASS_PROMPT value, then
#                                the line `--- end of question`
set -u
{
    printf '%s\n' "$*"
    printf 'SSH_ASKPASS_PROMPT=%s\n' "${SSH_ASKPASS_PROMPT:-}"
    printf -- '--- end of question\n'
} >> "$DBCREDS_TEST_ASKPASS_LOG"
answer=$(cat "$DBCREDS_TEST_ASKPASS_ANSWER" 2>/dev/null || echo no)
case "$answer" in
    yes) exit 0 ;;
    hang) exec sleep 600 ;;
    *) exit 1 ;;
esac
