# OS command injection. Pipeline keeps newlines (no compressWhitespace) so an injected %0a
# counts as a command separator; JS escapes are decoded so w\h\o\a\m\i becomes whoami.
# Shell snippets in documentation (markdown code blocks: `ls -la`, `cd app && npm i`,
# `docker run -v $(pwd):/app`, `curl ... | sh` installers) must pass at PL1, so patterns need
# an injection shape: a separator right after a short value, a recon command with no
# business in a parameter, a reverse shell, or shell evasion syntax.
#@ category: rce
#@ transforms: urlDecodeUni htmlEntityDecode jsDecode removeNulls unicodeNormalize
#@ severity: critical
#@ paranoia: 1

#@ message: Command injection: separator right after a short value (IP, host, file name), then a command
^\s*(?:[^\s;|&`$(){}<>'"]*[\d./\\@-][^\s;|&`$(){}<>'"]*)?['"]?\s*(?:;|\|\|?|&&?|\r|\n)\s*(?:/(?:usr/)?(?:local/)?s?bin/)?(?:id|whoami|uname|ifconfig|ipconfig|netstat|hostname|systeminfo|tasklist|pwd|ls|dir|cat|type|head|tail|more|less|echo|printf|wget|curl|nc|ncat|netcat|socat|telnet|bash|sh|zsh|ksh|dash|python[23]?|perl|ruby|php|node|nslookup|dig|ping|sleep|timeout|env|printenv|ver|net|find|rm|chmod|touch|mkdir|sudo|kill|ps|crontab|certutil|powershell|pwsh|cmd|wmic|reg|schtasks|bitsadmin|mshta|rundll32|regsvr32|base64|xxd|busybox|tftp|nohup|eval|exec|expr|awk|getent|lsb_release)(?:\.exe)?(?:\s|$|[;|&`)<>#]|\$\{?ifs)
^\s*[^\s;|&`$(){}<>'"]{1,100}['"]?\s*(?:;|\|\|?|&&?)\s*(?:/(?:usr/)?(?:local/)?s?bin/)?(?:whoami|uname|ifconfig|ipconfig|netstat|systeminfo|tasklist|wget|curl|nc|ncat|netcat|socat|telnet|bash|sh|python[23]?|perl|ruby|php|nslookup|ping|sleep|powershell|pwsh|cmd|certutil|busybox)(?:\.exe)?(?:\s+\S|$|[;|&`#]|\$\{?ifs)
^\s*[^\s;|&`$(){}<>'"]{0,100}\s*(?:;|\|\|?|&&?)\s*\$\(
#@ message: Command injection: separator then a recon command
(?:[;|\r\n]|&&?)\s*(?:/(?:usr/)?s?bin/)?(?:id|whoami|uname|ifconfig|netstat|systeminfo)(?:\s*(?:$|[;|&`)#>\r\n]|-[a-z]{1,3}\b)|\s+-[a-z]{1,3}\b)
(?:[;|`\r\n]|&&?|\$\()\s*(?:ipconfig|ipconfig\.exe)\s*(?:/all\b|$|[;|&])
(?:[;|`]|&&?|\$\()\s*(?:cat|head|tail|more|less|nl|tac|strings|xxd|od|base64|sort|uniq|type)\s+(?:/etc/(?:passwd|shadow|group|sudoers|master\.passwd|hosts)|/proc/self/|c:\\|%\w+%)
# (after a line break, only the secret files: `cat /etc/hosts` or `type C:\...` opening a line is how docs show a command)
[\r\n]\s*(?:cat|head|tail|more|less|nl|tac|strings|xxd|od|base64|sort|uniq|type)\s+(?:/etc/(?:passwd|shadow|group|sudoers|master\.passwd)|/proc/self/)
(?:^|[\w.:/=;|&'"])`\s*(?:/(?:usr/)?(?:local/)?s?bin/)?(?:id|whoami|uname|ifconfig|hostname|pwd|ls|cat|wget|curl|nc|ping|sleep|nslookup|dig|echo|bash|sh|python[23]?|perl|php)\b[^`]*`
(?:^|[\w.])\$\(\s*(?:id|whoami|uname|hostname|pwd|ifconfig|ls|cat\s+/etc)\b[^)]*\)
\$\(\s*(?:wget|nc|ncat|netcat|socat|telnet|nslookup|dig|ping|sleep\s+\d|bash\s+-[ci]|sh\s+-[ci]|python[23]?\s+-c|perl\s+-e|php\s+-r|ruby\s+-e|printf\s+['"]?\\x)\b
\$\(\s*curl\s[^)]*(?:\|\s*(?:ba)?sh|\d{1,3}(?:\.\d{1,3}){3}|\$\(|`)
(?:[;|`]|\|\||\$\()\s*sleep\s+\d+\s*(?:$|[;|&`#)'"\\])
(?:[;|&`]|\$\()\s*ping\s+-[nc]\s*\d+\s+(?:-\w\s+\d+\s+)?[\w.-]+\s*(?:$|[;|&`#)])
(?:[;|&`]|\$\()\s*timeout\s+/t\s+\d+
#@ message: Command injection: shell variable / expansion tricks
\[\s*\d+\s+-(?:ne|eq|gt|lt|ge|le)\s+\$[({]
\$\{#\w+\}
\bif\s*\[\s*\d+\s+-(?:ne|eq|gt|lt|ge|le)\s+\$\{?\w+\}?\s*\]
\bthen\s+sleep\s+\d+\s*;?\s*else\s+sleep\b
\b\w+=\$\(\s*echo\s+[a-z]{4,}\s*\)
#@ message: Command injection: quote breakout then a command
['"]\s*(?:;|\|\|?|&&?)\s*(?:id|whoami|uname\s+-a|ifconfig|ping\s+-[cnw]\s*\d|sleep\s+\d+|nslookup\s|cat\s+/etc/)
\$\(\s*`
^\s*\(\s*\)\s*\{\s*[:_]?\s*;?\s*\}\s*;
\$\{?ifs\b
\$\(\(\s*\d+\s*[-+*/%\s]\s*\d+\s*\)\)
\{\s*(?:cat|ls|id|wget|curl|nc|bash|sh|echo|ping|whoami|uname|head|tail|nl)\s*,
(?:/[\w*]*\?[\w?*]*){2}
# (line 43 moved to the end: it blocked 0.3% of generated passwords, e.g. "q$@" inside one)
[a-z]\\\$\w+[a-z]
\$\[\s*\d+\s*[-+*/%\s]\s*\d+\s*\]
\b(?:cat|head|tail|more|less|nl|tac|ls)\s+/\S*\[[^\]/\s]{1,4}\]
#@ message: Command injection: reverse shell
\b(?:nc|ncat|netcat)(?:\.exe)?\s[^|;&\n]{0,60}?\s-\w*e\s+(?:/bin/|/usr/bin/)?(?:ba|z|k)?sh\b
/dev/(?:tcp|udp)/[\w.-]+/\d+
\bbash\s+-i\s*[>&<]
\b(?:nc|ncat|netcat)(?:\.exe)?(?:\s+-\w+)*\s+-\w*[ec]\s+(?:/bin/|/usr/bin/)?(?:ba|z|k)?sh\b
\b(?:nc|ncat|netcat)(?:\.exe)?(?:\s+-\w+)*\s+-\w*e\s+cmd(?:\.exe)?\b
\b(?:nc|ncat|netcat)\s+(?:-\w+\s+)*\d{1,3}(?:\.\d{1,3}){3}\s+\d{2,5}\b
\bmkfifo\s+/tmp/
\bmknod\s+\S+\s+p\b
\b(?:ba)?sh\s+-i\s+[<>&0-9]
\bpython[23]?\s+-c\s+['"]?\s*import\s+(?:socket|os|pty|subprocess)
\bpty\.spawn\s*\(
\bperl\s+-e\s+['"]?\s*use\s+socket
\bphp\s+-r\s+['"]?\s*\$\w+\s*=\s*fsockopen
\bruby\s+-rsocket\b
\bsocat\s+(?:tcp|exec|file|openssl)[\w-]*:
\bexec\s+\d+<>/dev/tcp
\bxterm\s+-display\s+[\d.]+:\d
\bawk\s+['"]?begin\s*\{\s*s\s*=\s*"/inet/tcp
#@ message: Command injection: download and execute
(?:[;|&`]|\$\()\s*(?:curl|wget)\s[^;|&\n]*?(?:https?://)?\d{1,3}(?:\.\d{1,3}){3}
\b(?:wget|curl)\s+(?:-\w+\s+)*(?:https?://)?\d{1,3}(?:\.\d{1,3}){3}[:/][^\s;|&]*\.(?:sh|bin|elf|arm\d?|mips|mpsl|x86|x86_64|i686|m68k|ppc|sh4|spc)\b
\bcd\s+/(?:tmp|var/tmp|dev/shm)\s*[;&|]+\s*(?:wget|curl|tftp|busybox)\b
\bchmod\s+(?:\+x|[0-7]{3,4})\s+/(?:tmp|var/tmp|dev/shm)/\S+\s*[;&|]+\s*(?:/(?:tmp|var/tmp|dev/shm)/|\./|sh\b)
\b(?:busybox)\s+(?:wget|tftp|nc|telnet)\b
\|\s*base64\s+-d\s*\|\s*(?:ba)?sh\b
#@ message: Command injection: OAST/interaction domain with a network command
\b(?:nslookup|dig|host|ping|curl|wget|nc)\s[^\n;|&]{0,80}\.(?:burpcollaborator\.net|oastify\.com|oast\.(?:fun|me|pro|live|site|online)|interact\.sh|interactsh\.com|dnslog\.cn|ceye\.io|requestrepo\.com|canarytokens\.com|bxss\.me)\b

#@ paranoia: 2
#@ severity: error
#@ message: Command injection (PL2): shell pipelines and substitutions
(?:[;|\r\n]|&&|\$\()\s*(?:cat|head|tail|ls|dir|type|wget|curl|nc|bash|sh|python[23]?|perl|php|echo|ping|nslookup|sleep|rm|chmod)\s
\b(?:curl|wget)\s[^|;&\n]*\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b
\$\(\s*[a-z]+\b[^)]*\)
#@ paranoia: 1
#@ severity: critical
#@ message: Command injection: an empty expansion ($@, $(), ${}) inside a command word
^\s*[a-z/]*[a-z](?:\$@|\$\(\)|\$\{\})(?:[a-z/]|\$@|\$\(\)|\$\{\})*(?:\s+[-/.\w]|[<>])|[;|&\n`({]\s*[a-z/]*[a-z](?:\$@|\$\(\)|\$\{\})(?:[a-z/]|\$@|\$\(\)|\$\{\})*(?:\s|$|[<>|;&,])
