# Apache Velocity directives that assign or call: #set($x = 7*7)$x, #set($e="e")$e.getClass(),
# #foreach($i in ...), #evaluate("..."). `#set(` with a `$` variable is template syntax, not prose.
#@ category: ssti
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: SSTI: Velocity directive
[#](?:set|foreach|if|evaluate|define|macro)\s*\(\s*\$[a-z_][\w.]*(?:\s*(?:=|in\b)|\s*\.\s*\w+\s*\(|\s*\))
[#]evaluate\s*\(\s*['"]
