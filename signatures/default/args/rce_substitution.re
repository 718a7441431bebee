# Command substitution that builds its command with printf: $(printf 'id'),
# `printf "\151\144"`, $(printf %s who)$(printf %s ami). The printf text spells the command,
# so no command name appears in the value for the other lists.
#@ category: rce
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: Command injection: command substitution through printf
(?:\$\(|`)\s*printf\s+(?:-- )?['"%\\]
