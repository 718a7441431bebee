# NoSQL (MongoDB-style) operator injection. Operators such as $eq/$in/$lt are used legitimately
# by query-builder APIs (Strapi filters[title][$eq], segment builders), so at PL1 only operators
# that run code, or comparison operators on credential fields, are blocked.
#@ category: nosql
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: NoSQL injection: server-side JavaScript operator
(?:^|[\[.{"'\s,])\$(?:where|function|accumulator|expr)(?:$|[\].}"'\s:])
#@ message: NoSQL injection: comparison operator on a credential field
\b(?:pass(?:word|wd)?|pwd|secret|token|otp|pin|code|hash|username|user|login|email)\s*(?:\[\s*|\.)\$(?:ne|gt|gte|lt|lte|nin|regex|exists|not|in|eq|or|and|nor)\b
#@ message: NoSQL injection: JavaScript tautology or return in a $where context
\{\s*["']?\$(?:ne|gt|gte|lt|regex|exists|nin)["']?\s*:\s*(?:null|""|''|-?1|0|true|false|["'][.^]?\.?\*["'])\s*\}
['"]\s*,\s*\$(?:or|and|where|ne|gt|regex|nor|comment)\s*:
^\s*\|\|\s*['"]?\w+['"]?\s*===?\s*['"]?\w+
['"]\s*;\s*return\s*\(?\s*(?:true|1)\b
^\s*\w{0,20}\s*;\s*return\s+(?:true|1)\b
['"]\s*;\s*\w+\s*=\s*new\s+date\s*\(
['"]\s*(?:\|\||&&)\s*['"]?\w*['"]?\s*===?\s*['"]?\w*['"]?
['"]\s*;\s*return\s+(?:true|1|this\b)
\bthis\.\w+\.match\s*\(\s*/\.\*/\s*\)
['"]\s*;\s*sleep\s*\(\s*\d{3,}\s*\)
\bdb\.\w+\.(?:insert|drop|remove|find|update|mapreduce)\s*\(
#@ paranoia: 2
#@ severity: error
#@ message: NoSQL injection (PL2): query operator in a parameter name
\[\s*\$(?:ne|gt|gte|lt|lte|nin|regex|exists|not|or|and|nor|elemmatch|size|type|mod|all)\s*\]
