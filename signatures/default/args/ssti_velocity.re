# Apache Velocity directives that probe or walk to the runtime: #set($x = 7*7)$x,
# #{set}($x=7*7), #if(7*7==49), #set($r=$x.getClass().forName(...)), #evaluate("...").
# Directives alone are template syntax a CMS template editor or an API gateway mapping
# template sends all day (#set($total = 0), #foreach($item in $order.items)), and commented
# out Perl or PowerShell reads the same (#if ($count == 0) {): only arithmetic on literals
# and reflection gadgets count.
#@ category: ssti
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: SSTI: Velocity arithmetic probe or reflection gadget
[#]\{?(?:set|foreach|if|evaluate|define|macro)\}?\s*\(\s*\$!?\{?[a-z_][\w.]*\}?\s*(?:=\s*\d+\s*[-+*/%]\s*\d+|[=.][^)]{0,80}\.\s*(?:getclass|forname|getruntime|exec|newinstance|invoke|getmethod|class)\b)
[#]\{?(?:if|set|elseif)\}?\s*\(\s*\d+\s*[-+*/%]\s*\d+
[#]\{?evaluate\}?\s*\(\s*['"]
