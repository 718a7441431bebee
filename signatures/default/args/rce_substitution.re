# Command substitution in command position that builds its command with printf:
# host;$(printf 'id'), x|`printf "\151\144"`, a;$(printf who)$(printf ami),
# a;$(/usr/bin/printf id). The printf text spells the command, so no command name appears in
# the value for the other lists. Only after a command separator (or at the value's start):
# as an argument (echo "$(printf '%s' "$x")", n=$(printf "%05d" 7)) the substitution is a
# word, not a command, and shell snippets use it everywhere.
#@ category: rce
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: Command injection: command substitution through printf
(?:^|[;&|\n{(`])\s*(?:\$\(|`)\s*(?:(?:command|builtin|env)\s+|\S*/)?printf\b
