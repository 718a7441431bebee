# Command injection hidden with quotes, carets or backslashes inside words (c'a't, w^h^o^a^m^i,
# w\h\o\a\m\i). cmdLine deletes those characters, turns ; and , into spaces and removes spaces
# before / and (, so patterns here are written for that normalized form.
#@ category: rce
#@ transforms: urlDecodeUni htmlEntityDecode removeNulls unicodeNormalize cmdLine
#@ severity: critical
#@ paranoia: 1
#@ message: Command injection (normalized): read of a sensitive file
\b(?:cat|head|tail|more|less|nl|tac|strings|xxd|base64|type)\s*/etc/(?:passwd|shadow|sudoers|group)\b
#@ message: Command injection (normalized): recon command after a separator
# (at the start of a value only as the whole command, with options or a separator after it:
# a search for `ifconfig eth0 not working` or a page slug `ifconfig-ubuntu` is no injection)
^\s*(?:whoami|uname\s*-a|ifconfig|systeminfo)(?:\s*$|\s*[|&]|\s+-[a-z]{1,3}\s*$)
(?:[|&]\s*|[\w.]\$\(\s*)(?:whoami|uname\s*-a|ifconfig|systeminfo)\b
[|&]\s*id(?:\s*$|\s*[|&])
#@ message: Command injection (normalized): shell invocation
(?:^|[|&`]\s*)(?:/bin/|/usr/bin/)(?:ba|z|k|da)?sh\b
(?:^|[|&`]\s*)cmd(?:\.exe)?/c\b
#@ severity: critical
#@ paranoia: 1
#@ message: Command injection (normalized): bash substring of a variable building a path
\$\{[a-z_]+:\d+:\d+\}
#@ message: Command injection (normalized): a system binary named by a wildcard
/(?:usr/)?s?bin/\w*[?*][\w?*]*\s*(?:$|[|&`])
