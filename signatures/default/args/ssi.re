# Server-side includes and edge-side includes.
#@ category: ssi
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: SSI injection
<!--\s*#\s*(?:exec|include|echo|config|set|printenv|fsize|flastmod|if)\b
#@ message: ESI injection
<esi:(?:include|vars|debug|eval|inline|choose|assign|remove)\b
