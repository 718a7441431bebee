# Windows command injection. Backslashes are kept (no JS/CSS decoding) and the value is lowercased.
#@ category: rce
#@ transforms: urlDecodeUni htmlEntityDecode removeNulls unicodeNormalize compressWhitespace lowercase
#@ severity: critical
#@ paranoia: 1
#@ message: Windows command injection: shell with /c or powershell flags
\bcmd(?:\.exe)?\s*/[ckr]\s
\bpowershell(?:\.exe)?\s+(?:-\w+\s+)*-(?:e|ec|enc|encodedcommand|nop|noprofile|noni|noninteractive|w|windowstyle|ep|exec|executionpolicy|c|command|sta)\b
\bpwsh(?:\.exe)?\s+(?:-\w+\s+)*-(?:e|ec|enc|encodedcommand|nop|c|command)\b
\b(?:iex|invoke-expression)\s*\(?\s*\(?\s*(?:new-object|\[system\.|iwr|invoke-webrequest|\(new-object)
\bnew-object\s+(?:system\.)?net\.(?:webclient|sockets\.tcpclient)\b
\.download(?:string|file|data)\s*\(\s*['"]?https?:
\bcertutil(?:\.exe)?\s+(?:-\w+\s+)*-(?:urlcache|decode|encode)\b
\bbitsadmin(?:\.exe)?\s+/transfer\b
\bmshta(?:\.exe)?\s+(?:https?:|javascript:|vbscript:)
\bregsvr32(?:\.exe)?\s+(?:/\w+\s+)*/i:https?:
\brundll32(?:\.exe)?\s+(?:javascript:|url\.dll|shell32\.dll,shellexec_rundll)
\bwmic(?:\.exe)?\s+(?:/node:\S+\s+)?process\s+call\s+create\b
\bnet(?:1)?\s+(?:user|localgroup)\s+\S+\s+(?:\S+\s+)?/add\b
#@ message: Windows command injection: separator then a command
^\s*['"]?\s*ping(?:\.exe)?\s+-[nw]\s*\d+\s+(?:-[nw]\s*\d+\s+)?\d{1,3}(?:\.\d{1,3}){3}
^\s*['"]?\s*(?:ver|uname|id|whoami|hostname)\s*>{1,2}\s*\S
^\s*(?:type|more)\s+(?:[a-z]:\\|%\w+%\\)[^\s]*\\(?:sam|system|win\.ini|boot\.ini|hosts|security|unattend\.xml)\b
^\s*dir\s+(?:[a-z]:\\|%\w+%)
\breg(?:\.exe)?\s+(?:add|delete|save|export|query)\s+["']?(?:hklm|hkcu|hkey_local_machine|hkey_current_user)\\
\bnetsh(?:\.exe)?\s+(?:advfirewall\s+)?firewall\s+(?:set|add|delete)\b
\bvssadmin(?:\.exe)?\s+delete\s+shadows\b
\b(?:sc|schtasks)(?:\.exe)?\s+(?:create|config)\s+\S+\s+[^|;&]{0,80}(?:binpath|/tr)\b
(?:[;|`]|&&?)\s*(?:type|more)\s+(?:[a-z]:\\|%\w+%|\\\\)
(?:[;|`]|&&?)\s*dir\s+(?:[a-z]:\\|%\w+%|/[asb]\b)
(?:[;|`]|&&?)\s*(?:whoami|hostname|systeminfo|tasklist|ver|set|ipconfig)(?:\.exe)?\s*(?:$|[;|&]|/\w+)
(?:[;|`]|&&?)\s*ping(?:\.exe)?\s+-n\s+\d+
(?:^|[;|&`])\s*[a-z]:\\windows\\system32\\(?:cmd|powershell|wscript|cscript|mshta)\.exe
#@ severity: critical
#@ paranoia: 1
#@ message: Windows command injection: the command interpreter by its variable
(?:^|[|&;]\s*)%comspec%
