# Injections placed in a path segment (REST ids, slugs): the args/ target only sees the query,
# so the strongest SQLi/XSS/RCE/SSTI/Log4Shell shapes are also checked in the path part here
# (^[^?#]* keeps them out of the query string, which args/ covers with the full sets).
#@ transforms: urlDecodeUni urlDecodeUni htmlEntityDecode removeNulls unicodeNormalize replaceComments compressWhitespace
#@ severity: critical
#@ paranoia: 1
#@ category: sqli
#@ message: SQL injection in the URL path
^[^?#]*\bunion(?:\s+all)?\s*\(?\s*select\b
^[^?#]*['"`]\s*\)*\s*(?:or|and|xor|\|\|)\s+\(*\s*[\w'"]+\s*(?:=|<|>|like\b)
^[^?#]*['"`]\s*\)*\s*(?:or|and|xor)\s+\(?\s*(?:exists|ascii|substr(?:ing)?|sleep|benchmark|pg_sleep|extractvalue|updatexml|select|if)\s*\(
^[^?#]*[\w)]['"`]\s*\)*\s*(?:--|#)
^[^?#]*/-?\d+\s*\)*\s+(?:and|or|xor)\s+\(*\s*\d+\s*(?:=|<|>)
^[^?#]*/-?\d+\s*\)*\s+(?:and|or|xor|rlike)\s+\(*\s*(?:\(\s*select|exists|ascii|substr|sleep|benchmark|pg_sleep|extractvalue|updatexml|if|case|like|\d+\s*=\s*(?:like|cast|convert))\b
^[^?#]*\b(?:sleep|pg_sleep|benchmark)\s*\(\s*\d
^[^?#]*\bwaitfor\s+delay\b
^[^?#]*\b(?:extractvalue|updatexml|randomblob|load_file)\s*\(
^[^?#]*\(\s*select\s+(?:\*|\d|'|null|@@|count|concat|[\w.]+\s*(?:,|from\b))
^[^?#]*;\s*(?:drop|delete|insert|update|exec|declare|shutdown|select)\b
^[^?#]*@@(?:version|datadir|hostname)\b
^[^?#]*\b(?:order|group)\s+by\s+\d+\s*(?:--|#)
#@ category: xss
#@ message: XSS in the URL path
^[^?#]*<(?:script|svg|img|iframe|body|details|video|audio|object|embed|base|meta|link|math|form|input|style|marquee|isindex|a)\b
^[^?#]*[\s/"']on(?:error|load|click|mouseover|focus|toggle|begin|start|pageshow|pointerover|animationstart)\s*=
^[^?#]*(?:^|[/=])\s*(?:javascript|vbscript):
#@ category: rce
#@ message: Command injection in the URL path
^[^?#]*(?:[;|`]|\$\()\s*(?:id|whoami|uname|cat\s+/etc/|wget\s|curl\s|nc\s|bash\s|sh\s|ping\s)
^[^?#]*\$\{?ifs\b
^[^?#]*/dev/tcp/
#@ category: ssti
#@ message: Template injection in the URL path
^[^?#]*\{\{\s*\d+\s*\*\s*['"]?\d+['"]?\s*\}\}
^[^?#]*[$#]\{\s*\d+\s*\*\s*\d+\s*\}
^[^?#]*__(?:class|globals|subclasses|builtins|mro)__
^[^?#]*\{\{[^}]{0,100}(?:config|self|request|lipsum|cycler)\.
^[^?#]*[$*]\{\s*t\s*\(\s*java\.
#@ category: log4shell
#@ message: Log4Shell in the URL
\$\{[^}]{0,30}j[^}]{0,30}n[^}]{0,30}d[^}]{0,30}i[^}]{0,30}:
\$\{[^}]{0,40}\$\{[^}]{0,40}(?::-|lower\s*:|upper\s*:|date\s*:|env\s*:|sys\s*:|k8s\s*:|base64\s*:|::)
